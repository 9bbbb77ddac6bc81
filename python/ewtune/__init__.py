"""ewtune: certified differential-privacy accounting, from Python.

The accounting runs in Rust (the ``ewtune`` crate) with the GIL released, so threads run
queries in parallel. Every answer is a :class:`Report` that says what its number is
(``guarantee``: ``exact``, ``upper_bound``, ``lower_bound``, ``estimate`` or ``bracket``)
and, for certified accountants, the certified interval ``[lower, upper]``.

Quick start::

    import ewtune
    r = ewtune.epsilon(1e-5, sigma=0.8, sampling_rate=0.01, steps=1000)
    r.epsilon, r.guarantee, (r.lower, r.upper)

Accountants (``accountant=``): ``contour`` (default here: exact δ(ε) by contour
inversion, a certified bracket of relative width ~1e-10, milliseconds), ``saddlepoint``,
``edgeworth`` (the CLI's default, an estimate), ``pld`` (certified bracket), ``rdp``
(upper bound), ``gdp`` (CLT estimate). Options mirror the CLI's flags: ``adjacency``
(``add-remove``, ``remove``, ``add``), ``order`` (0-3), ``precision`` (bits; 53 = f64),
``tolerance``, ``bracket``, ``grid_budget``, ``kolmogorov_only``.

Drop-ins: :mod:`ewtune.dp_accounting` (``PrivacyAccountant`` subclasses) and
:mod:`ewtune.opacus` (Opacus accountants).

Bad input raises ``ValueError`` subclasses naming the parameter and its range; a failed
computation raises :class:`ComputationError` (:class:`CertificationError` when a certified
answer could not be produced).
"""

from __future__ import annotations

import copy
import math
import operator
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import _ewtune
from ._errors import (
    BudgetExceededError,
    CertificationError,
    ComputationError,
    InvalidParameterError,
    NoSolutionError,
    UnsupportedEventError,
)

__version__: str = _ewtune.__version__
ACCOUNTANTS: Tuple[str, ...] = tuple(_ewtune.ACCOUNTANTS)

__all__ = [
    "ACCOUNTANTS", "Accountant", "BudgetExceededError", "Calibration", "CertificationError",
    "Composed", "ComputationError", "DiscreteLaplace", "Gaussian", "InvalidParameterError",
    "Laplace", "NoOp", "NoSolutionError", "NonPrivate", "Ordering", "PoissonSampled",
    "RandomizedResponse", "Report", "SelfComposed", "UnsupportedEventError", "calibrate",
    "NoiseCalibration", "calibrate_noise", "compare", "delta", "dpsgd", "epsilon",
    "DiscreteGaussian", "MixtureOfGaussians",
    "SampledWithoutReplacement", "TruncatedSubsampledGaussian",
]

# ---------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gaussian:
    """The Gaussian mechanism with noise multiplier ``sigma`` (sensitivity 1)."""

    sigma: float

    def to_dict(self) -> Dict[str, Any]:
        return {"type": "gaussian", "sigma": self.sigma}


@dataclass(frozen=True)
class Laplace:
    """The Laplace mechanism with scale ``scale`` (sensitivity 1)."""

    scale: float

    def to_dict(self) -> Dict[str, Any]:
        return {"type": "laplace", "scale": self.scale}


@dataclass(frozen=True)
class PoissonSampled:
    """``event`` run on a Poisson sample with rate ``sampling_rate`` in (0, 1].

    A Gaussian or a Laplace mechanism can be Poisson-sampled (the latter is the
    ``subsampled-laplace`` mechanism: certified by ``contour``, ``saddlepoint`` and ``pld``,
    bounded by ``rdp``, estimated by ``edgeworth``; ``gdp`` refuses it).
    """

    sampling_rate: float
    event: "Event"

    def to_dict(self) -> Dict[str, Any]:
        return {"type": "poisson_sampled", "sampling_rate": self.sampling_rate,
                "event": _event_dict(self.event)}


@dataclass(frozen=True)
class SelfComposed:
    """``event`` composed with itself ``count`` times."""

    event: "Event"
    count: int

    def to_dict(self) -> Dict[str, Any]:
        return {"type": "self_composed", "event": _event_dict(self.event),
                "count": _count(self.count)}


@dataclass(frozen=True)
class Composed:
    """The composition of several events."""

    events: Sequence["Event"]

    def to_dict(self) -> Dict[str, Any]:
        return {"type": "composed", "events": [_event_dict(e) for e in self.events]}


@dataclass(frozen=True)
class RandomizedResponse:
    """Randomized response over ``buckets`` buckets with noise parameter ``noise_parameter``
    (the true bucket with probability 1 − p, else a uniform one); defined under the
    ``replace-one`` adjacency only (docs/math.md §16.1)."""

    noise_parameter: float
    buckets: int

    def to_dict(self) -> Dict[str, Any]:
        return {"type": "randomized_response", "noise_parameter": self.noise_parameter,
                "buckets": _count(self.buckets)}


@dataclass(frozen=True)
class DiscreteLaplace:
    """The discrete Laplace mechanism P(x) ∝ e^{−a|x|} with integer ``sensitivity``
    (add/remove adjacency; docs/math.md §16.2)."""

    parameter: float
    sensitivity: int = 1

    def to_dict(self) -> Dict[str, Any]:
        return {"type": "discrete_laplace", "parameter": self.parameter,
                "sensitivity": _count(self.sensitivity)}


@dataclass(frozen=True)
class DiscreteGaussian:
    """The discrete Gaussian mechanism P(x) ∝ e^{−x²/(2σ²)} on the integers with integer
    ``sensitivity`` (add/remove adjacency; docs/math.md §16.7). dp_accounting 0.6.0 has no
    DpEvent for it."""

    sigma: float
    sensitivity: int = 1

    def to_dict(self) -> Dict[str, Any]:
        return {"type": "discrete_gaussian", "sigma": self.sigma,
                "sensitivity": _count(self.sensitivity)}


@dataclass(frozen=True)
class MixtureOfGaussians:
    """dp_accounting's mixture of Gaussians: N(0, σ²) against Σ p_i N(c_i, σ²) with
    ``sensitivities`` c_i ≥ 0 and ``probabilities`` p_i ≥ 0 summing to 1 (add/remove
    adjacency; docs/math.md §17). Certified by ``pld``, bounded by ``rdp``, estimated by
    ``edgeworth``; the other accountants refuse it."""

    sigma: float
    sensitivities: Sequence[float]
    probabilities: Sequence[float]

    def to_dict(self) -> Dict[str, Any]:
        return {"type": "mixture_of_gaussians", "sigma": self.sigma,
                "sensitivities": [float(c) for c in self.sensitivities],
                "probabilities": [float(p) for p in self.probabilities]}


@dataclass(frozen=True)
class SampledWithoutReplacement:
    """dp_accounting's ``SampledWithoutReplacementDpEvent``: ``event`` (a Gaussian) run on
    ``sample_size`` records drawn without replacement from ``source_dataset_size`` (fixed-size
    batches). Defined under the ``replace-one`` adjacency only; σ is relative to the clipping
    norm (replacing a record moves the sum by up to 2). Accounted by the symmetrised pair of
    docs/math.md §17.7, valid under adaptive composition: certified by ``pld`` and by
    ``contour`` (homogeneous compositions, docs/math.md §17.11), bounded by ``rdp``; the other
    accountants refuse it."""

    source_dataset_size: int
    sample_size: int
    event: "Event"

    def to_dict(self) -> Dict[str, Any]:
        return {"type": "sampled_without_replacement",
                "source_dataset_size": _count(self.source_dataset_size),
                "sample_size": _count(self.sample_size),
                "event": _event_dict(self.event)}


@dataclass(frozen=True)
class TruncatedSubsampledGaussian:
    """dp_accounting's truncated Poisson sampling (``TruncatedSubsampledGaussianDpEvent``,
    arXiv 2508.15089): Poisson sampling at rate ``sampling_probability`` from ``dataset_size``
    records, cut to at most ``truncated_batch_size`` by a uniform subset, then the Gaussian
    mechanism with ``noise_multiplier`` (docs/math.md §17.8). Certified by ``contour``
    (docs/math.md §17.10) and ``pld``, bounded by ``rdp``, estimated by ``edgeworth``; the other
    accountants refuse it."""

    dataset_size: int
    sampling_probability: float
    truncated_batch_size: int
    noise_multiplier: float

    def to_dict(self) -> Dict[str, Any]:
        return {"type": "truncated_subsampled_gaussian",
                "dataset_size": _count(self.dataset_size),
                "sampling_probability": self.sampling_probability,
                "truncated_batch_size": _count(self.truncated_batch_size),
                "noise_multiplier": self.noise_multiplier}


@dataclass(frozen=True)
class NoOp:
    """Does nothing (no privacy cost)."""

    def to_dict(self) -> Dict[str, Any]:
        return {"type": "no_op"}


@dataclass(frozen=True)
class NonPrivate:
    """Releases the data (infinite privacy cost)."""

    def to_dict(self) -> Dict[str, Any]:
        return {"type": "non_private"}


Event = Union[Gaussian, Laplace, PoissonSampled, SelfComposed, Composed, NoOp, NonPrivate,
              RandomizedResponse, DiscreteLaplace, DiscreteGaussian, MixtureOfGaussians,
              SampledWithoutReplacement, TruncatedSubsampledGaussian, Mapping[str, Any], Any]


def dpsgd(sigma: float, sampling_rate: float, steps: int) -> SelfComposed:
    """The DP-SGD event: ``steps`` Poisson-sampled Gaussian steps."""
    return SelfComposed(PoissonSampled(sampling_rate, Gaussian(sigma)), steps)


def _int_param(name: str, value: Any, lo: int, hi: int, hi_text: str) -> int:
    """``value`` as an int in [lo, hi] (anything with ``__index__``, e.g. a numpy integer), else
    InvalidParameterError naming ``name``."""
    try:
        v = None if isinstance(value, bool) else operator.index(value)
    except TypeError:
        v = None
    if v is None or not lo <= v <= hi:
        err = InvalidParameterError(
            f"invalid {name} = {value!r}: must be an integer in [{lo}, {hi_text}]")
        err.parameter = name
        raise err
    return int(v)


def _real(name: str, value: Any) -> float:
    """``value`` as a float (int, float, numpy scalar, ...); a string or bool is refused by
    name (``float('0.5')`` would accept the text)."""
    if isinstance(value, (str, bytes, bool)) or not hasattr(value, "__float__"):
        err = InvalidParameterError(f"invalid {name} = {value!r}: must be a real number")
        err.parameter = name
        raise err
    return float(value)


def _count(count: Any) -> int:
    # At most 10^15 copies of one mechanism (the library's MAX_COUNT, the CLI's --steps range).
    return _int_param("count", count, 0, 10**15, "10^15")


def _dp_accounting_dict(event: Any) -> Optional[Dict[str, Any]]:
    """The dict form of a dp_accounting DpEvent, or None if ``event`` is not one."""
    mod = type(event).__module__ or ""
    if not mod.startswith("dp_accounting"):
        return None
    name = type(event).__name__
    # Degenerate parameters that dp_accounting's events allow: no noise releases the data
    # (non-private), nothing sampled or nothing sensitive is a no-op.
    if name == "GaussianDpEvent":
        if event.noise_multiplier == 0:
            return {"type": "non_private"}
        return {"type": "gaussian", "sigma": event.noise_multiplier}
    if name == "LaplaceDpEvent":
        if event.noise_multiplier == 0:
            return {"type": "non_private"}
        # dp_accounting's Laplace noise_multiplier is the scale b at sensitivity 1.
        return {"type": "laplace", "scale": event.noise_multiplier}
    if name == "PoissonSampledDpEvent":
        if event.sampling_probability == 0:
            return {"type": "no_op"}
        inner = _event_dict(event.event)
        if inner.get("type") == "non_private":
            # A sample released without noise is (∞, q)-DP: δ(ε) = q at every ε, which is
            # neither non-private nor a mechanism ewtune composes.
            raise UnsupportedEventError(
                f"ewtune does not support {event!r}: Poisson sampling of a mechanism without "
                "noise is (inf, q)-DP")
        return {"type": "poisson_sampled", "sampling_rate": event.sampling_probability,
                "event": inner}
    if name == "SelfComposedDpEvent":
        return {"type": "self_composed", "event": _event_dict(event.event),
                "count": _count(event.count)}
    if name == "ComposedDpEvent":
        return {"type": "composed", "events": [_event_dict(e) for e in event.events]}
    if name == "NoOpDpEvent":
        return {"type": "no_op"}
    if name == "NonPrivateDpEvent":
        return {"type": "non_private"}
    if name == "RandomizedResponseDpEvent":
        return {"type": "randomized_response", "noise_parameter": event.noise_parameter,
                "buckets": _count(event.num_buckets)}
    if name == "DiscreteLaplaceDpEvent":
        # dp_accounting's noise_parameter is a in P(x) ∝ e^{−a|x|}.
        return {"type": "discrete_laplace", "parameter": event.noise_parameter,
                "sensitivity": _count(event.sensitivity)}
    if name == "MixtureOfGaussiansDpEvent":
        sensitive = any(c != 0 and p > 0
                        for c, p in zip(event.sensitivities, event.sampling_probs))
        probs = list(event.sampling_probs)
        valid = (len(probs) == len(event.sensitivities) > 0 and all(p >= 0 for p in probs)
                 and abs(sum(probs) - 1.0) <= 1e-9)
        if valid and not sensitive:
            return {"type": "no_op"}
        if valid and sensitive and event.standard_deviation == 0:
            return {"type": "non_private"}
        return {"type": "mixture_of_gaussians", "sigma": event.standard_deviation,
                "sensitivities": [float(c) for c in event.sensitivities],
                "probabilities": [float(p) for p in event.sampling_probs]}
    if name == "SampledWithoutReplacementDpEvent":
        return {"type": "sampled_without_replacement",
                "source_dataset_size": _count(event.source_dataset_size),
                "sample_size": _count(event.sample_size),
                "event": _event_dict(event.event)}
    if name == "TruncatedSubsampledGaussianDpEvent":
        # As dp_accounting's PLD accountant: nothing sampled is a no-op, σ = 0 releases the data.
        if (event.sampling_probability == 0 or event.truncated_batch_size == 0
                or event.dataset_size == 0):
            return {"type": "no_op"}
        if event.noise_multiplier == 0:
            return {"type": "non_private"}
        return {"type": "truncated_subsampled_gaussian",
                "dataset_size": _count(event.dataset_size),
                "sampling_probability": event.sampling_probability,
                "truncated_batch_size": _count(event.truncated_batch_size),
                "noise_multiplier": event.noise_multiplier}
    raise UnsupportedEventError(
        f"ewtune does not support the dp_accounting event {event!r} ({name}); supported: "
        "Gaussian, Laplace, PoissonSampled(Gaussian or Laplace), RandomizedResponse, "
        "DiscreteLaplace, MixtureOfGaussians, SampledWithoutReplacement(Gaussian), "
        "TruncatedSubsampledGaussian, SelfComposed, Composed, NoOp, NonPrivate")


def _event_dict(event: Any) -> Dict[str, Any]:
    """The dict form (the Rust serde shape) of an ewtune event, a dict or a dp_accounting event."""
    if hasattr(event, "to_dict") and type(event).__module__ == __name__:
        return event.to_dict()
    if isinstance(event, Mapping):
        return dict(event)
    d = _dp_accounting_dict(event)
    if d is not None:
        return d
    err = InvalidParameterError(
        f"invalid event = {event!r}: must be an ewtune event (Gaussian, PoissonSampled, ...), "
        "an event dict or a dp_accounting DpEvent")
    err.parameter = "event"
    raise err


# ---------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ordering:
    """One adjacency ordering's value (``direction`` is ``remove`` or ``add``)."""

    direction: str
    value: float
    lower: Optional[float]
    upper: Optional[float]


@dataclass(frozen=True)
class Report:
    """An accountant's answer, with the fields of the CLI's ``--format json`` object.

    ``query`` says which quantity was computed (``epsilon`` for a given δ or ``delta`` for a
    given ε); both ``epsilon`` and ``delta`` are filled. ``lower``/``upper`` are certified
    bounds on the computed quantity when the accountant certifies them (None otherwise).
    ``guarantee`` is ``exact``, ``upper_bound``, ``lower_bound``, ``estimate`` or
    ``bracket``. ``vacuous`` marks a certified bound that says nothing; ``valid`` is False
    when the approximation is known to be invalid at the answer (``notes`` say where).
    """

    accountant: str
    query: str
    epsilon: float
    delta: float
    log10_delta: float
    guarantee: str
    adjacency: str
    order: Optional[int]
    lower: Optional[float]
    upper: Optional[float]
    vacuous: bool
    valid: bool
    orderings: Tuple[Ordering, ...]
    notes: Tuple[str, ...]
    seconds: float = 0.0

    @property
    def value(self) -> float:
        """The computed quantity (ε or δ, by ``query``)."""
        return self.epsilon if self.query == "epsilon" else self.delta

    @property
    def bracket(self) -> Tuple[Optional[float], Optional[float]]:
        """``(lower, upper)``: the certified interval (None for an end that is not certified)."""
        return (self.lower, self.upper)

    @property
    def certified(self) -> bool:
        """Whether the computed quantity has a certified upper end."""
        return self.upper is not None or self.guarantee == "exact"

    def to_dict(self) -> Dict[str, Any]:
        """The report as the CLI's JSON object (non-finite numbers as in Python)."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["orderings"] = [vars(o).copy() if hasattr(o, "__dict__") else
                          {k: getattr(o, k) for k in o.__dataclass_fields__}
                          for o in self.orderings]
        d["notes"] = list(self.notes)
        return d

    @classmethod
    def _from(cls, d: Mapping[str, Any]) -> "Report":
        d = dict(d)
        d["orderings"] = tuple(Ordering(**o) for o in d["orderings"])
        d["notes"] = tuple(d["notes"])
        return cls(**d)


@dataclass(frozen=True)
class Calibration:
    """The answer of :func:`calibrate`: σ, steps and q (one solved), the ε they give and
    the report of the final evaluation. On a certified accountant ``epsilon`` is the
    certified upper end, so the solved parameter is certified (``guarantee``)."""

    solve: str
    sigma: float
    steps: int
    sampling_rate: float
    target_epsilon: float
    delta: float
    epsilon: float
    accountant: str
    guarantee: str
    iterations: int
    evaluations: int
    lower: Optional[float]
    upper: Optional[float]
    monotone: bool
    notes: Tuple[str, ...]
    report: Report
    seconds: float

    @property
    def value(self) -> float:
        """The solved parameter."""
        return {"sigma": self.sigma, "steps": self.steps,
                "sampling_rate": self.sampling_rate}[self.solve]

    @classmethod
    def _from(cls, d: Mapping[str, Any]) -> "Calibration":
        d = dict(d)
        d["notes"] = tuple(d["notes"])
        d["report"] = Report._from(d["report"])
        return cls(**d)


def _drop_in_value(r: Report) -> float:
    """What the drop-ins' ``get_epsilon``/``get_delta`` return: the certified upper end where
    the accountant certifies one, else the estimate. An estimate that its report marks invalid
    (an Edgeworth series with a non-positive survival function at the answer) raises
    ``ComputationError``: a drop-in returns no number its own report disowns."""
    if r.upper is not None:
        return r.upper
    if not r.valid:
        why = "; ".join(r.notes) or "the approximation does not hold there"
        raise ComputationError(
            f"the {r.accountant} estimate of {r.query} is invalid at this query ({why}); "
            f"ask for a certified bound instead (bracket=True, or the contour accountant)")
    return r.value


# ---------------------------------------------------------------------------------------
# Accountants and functions
# ---------------------------------------------------------------------------------------


def _options(accountant: str, options: Mapping[str, Any]) -> Dict[str, Any]:
    known = {"adjacency", "order", "precision", "tolerance", "bracket", "grid_budget",
             "kolmogorov_only"}
    unknown = set(options) - known
    if unknown:
        raise TypeError(f"unknown accountant option(s) {sorted(unknown)}; known: {sorted(known)}")
    d = {k: v for k, v in options.items() if v is not None}
    d["accountant"] = accountant
    return d


class Accountant:
    """An ewtune accountant: compose events, then ask for ε(δ) or δ(ε).

    ``Accountant("contour", adjacency="add-remove", tolerance=1e-9)``; the options are the
    CLI's flags (see the module docstring). ``compose`` returns ``self`` so calls chain.
    Queries release the GIL; one accountant's queries are serialised, different
    accountants' queries run in parallel threads.

    An accountant pickles (and ``copy.deepcopy`` copies it) as its options and the events
    composed so far, runs of the same event merged into one count; unpickling composes them
    again, so the copy answers every query exactly as the original does.
    """

    # The version of the pickled state (``__getstate__``); another version is refused.
    _STATE_VERSION = 1

    def __init__(self, accountant: str = "contour", **options: Any) -> None:
        self._spec = _options(accountant, options)
        self._raw = _ewtune.RawAccountant(self._spec)
        # (event dict, count) in composition order, a run of equal events merged.
        self._history: List[Tuple[Dict[str, Any], int]] = []

    @property
    def name(self) -> str:
        """The accountant's name (``contour``, ``pld``, ...)."""
        return self._raw.name

    def check(self, event: Event) -> None:
        """Raise (UnsupportedEventError / InvalidParameterError) unless ``event`` can be composed."""
        self._raw.supports(_event_dict(event))

    def supports(self, event: Event) -> bool:
        """Whether ``event`` (and every sub-event) can be composed. Bad parameters raise."""
        try:
            self.check(event)
        except UnsupportedEventError:
            return False
        return True

    def compose(self, event: Event, count: int = 1) -> "Accountant":
        """Compose ``count`` copies of ``event``; on error nothing is composed."""
        d = copy.deepcopy(_event_dict(event))
        n = _count(count)
        self._raw.compose(d, n)
        if n == 0:
            return self
        if self._history and self._history[-1][0] == d:
            # The native side accepted both, so the merged count is within its limits.
            self._history[-1] = (d, self._history[-1][1] + n)
        else:
            self._history.append((d, n))
        return self

    def epsilon(self, delta: float) -> Report:
        """ε for δ in (0, 1), as a :class:`Report`."""
        return Report._from(self._raw.epsilon(_real("delta", delta)))

    def delta(self, epsilon: float) -> Report:
        """δ for ε ≥ 0, as a :class:`Report`."""
        return Report._from(self._raw.delta(_real("epsilon", epsilon)))

    def __repr__(self) -> str:
        return f"ewtune.Accountant({self.name!r})"

    def __getstate__(self) -> Dict[str, Any]:
        return {"version": self._STATE_VERSION, "options": dict(self._spec),
                "history": [(copy.deepcopy(d), n) for d, n in self._history]}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        version = state.get("version") if isinstance(state, Mapping) else None
        if version != self._STATE_VERSION:
            raise ValueError(
                f"pickled ewtune.Accountant state version {version!r}: this ewtune reads "
                f"version {self._STATE_VERSION}")
        self._spec = dict(state["options"])
        self._raw = _ewtune.RawAccountant(self._spec)
        self._history = []
        for d, n in state["history"]:
            self._raw.compose(d, n)
            self._history.append((d, n))


def _make_event(event: Optional[Event], sigma: Optional[float], sampling_rate: Optional[float],
                steps: Optional[int]) -> Event:
    if event is not None:
        if sigma is not None or sampling_rate is not None or steps is not None:
            raise TypeError("give either event= or sigma/sampling_rate/steps, not both")
        return event
    if sigma is None:
        raise TypeError("give event= or sigma= (with sampling_rate= and steps=)")
    steps = 1 if steps is None else steps
    base: Event = Gaussian(sigma) if sampling_rate is None else PoissonSampled(
        sampling_rate, Gaussian(sigma))
    return SelfComposed(base, steps)


def epsilon(delta: float, event: Optional[Event] = None, *, sigma: Optional[float] = None,
            sampling_rate: Optional[float] = None, steps: Optional[int] = None,
            accountant: str = "contour", **options: Any) -> Report:
    """ε(δ) of a composition, as :class:`Report` (``ewtune epsilon``).

    Give the composition either as ``event`` (an ewtune event, an event dict or a
    dp_accounting DpEvent) or as DP-SGD parameters: ``sigma`` (noise multiplier),
    ``sampling_rate`` (Poisson rate q; omit for the plain Gaussian mechanism) and ``steps``.

    ``delta`` must lie in (0, 1). ``accountant`` is one of ``contour`` (default: certified
    bracket, relative width ~1e-10), ``saddlepoint``, ``edgeworth``, ``pld``, ``rdp``,
    ``gdp``; ``options`` are the CLI's flags (``adjacency="add-remove"|"remove"|"add"``,
    ``order=1``, ``precision=256``, ``tolerance=1e-9``, ``bracket=False``,
    ``grid_budget``, ``kolmogorov_only=False``).

    Example: ``ewtune.epsilon(1e-5, sigma=0.8, sampling_rate=0.01, steps=1000).epsilon``.
    The certified interval is ``report.bracket``; ``report.guarantee`` says what the
    number is. Raises ValueError for bad input (naming the parameter and its range) and
    ComputationError / CertificationError when a computation fails or cannot be certified.
    """
    acc = Accountant(accountant, **options)
    acc.compose(_make_event(event, sigma, sampling_rate, steps))
    return acc.epsilon(delta)


def delta(epsilon: float, event: Optional[Event] = None, *, sigma: Optional[float] = None,
          sampling_rate: Optional[float] = None, steps: Optional[int] = None,
          accountant: str = "contour", **options: Any) -> Report:
    """δ(ε) of a composition for ε ≥ 0, as :class:`Report` (``ewtune delta``).

    Arguments as :func:`epsilon`.
    """
    acc = Accountant(accountant, **options)
    acc.compose(_make_event(event, sigma, sampling_rate, steps))
    return acc.delta(epsilon)


def calibrate(target_epsilon: float, delta: float, *, solve: str = "sigma",
              sigma: Optional[float] = None, sampling_rate: Optional[float] = None,
              steps: Optional[int] = None, accountant: str = "contour", rel_tol: float = 1e-4,
              envelope_points: int = 8, max_evaluations: int = 400,
              **options: Any) -> Calibration:
    """Solve DP-SGD for σ, steps or q at a target (ε, δ) (``ewtune calibrate``).

    ``solve`` is ``sigma`` (give ``sampling_rate`` and ``steps``), ``steps`` (give ``sigma``
    and ``sampling_rate``) or ``sampling_rate`` (give ``sigma`` and ``steps``). On a
    certified accountant (default ``contour``) the certified upper end of ε is used, so the
    answer is certified: the smallest σ (largest steps or q) whose certified ε is at most
    ``target_epsilon``, to relative tolerance ``rel_tol`` (steps exactly).
    ``envelope_points`` is the grid that checks an estimate's curve for non-monotonicity
    (0 disables it); a certified accountant needs none and skips it.
    Returns a :class:`Calibration`; ``.value`` is the solved parameter.
    """
    if steps is not None:
        steps = _count(steps)
    envelope_points = _int_param("envelope_points", envelope_points, 0, 1000, "1000")
    max_evaluations = _int_param("max_evaluations", max_evaluations, 4, 10**6, "10^6")
    d = _ewtune.calibrate(_options(accountant, options), _real("target_epsilon", target_epsilon),
                          _real("delta", delta), solve, sigma, sampling_rate, steps,
                          _real("rel_tol", rel_tol), envelope_points, max_evaluations)
    return Calibration._from(d)


@dataclass(frozen=True)
class NoiseCalibration:
    """The answer of :func:`calibrate_noise`: the solved noise knob of a per-step event and the
    report of the final evaluation. On a certified accountant the solved value is certified:
    ``report.upper`` (the certified upper end of ε after ``steps`` steps) meets
    ``target_epsilon``, and at ``other_end`` (the other end of the final bracket) it does not."""

    knob: str
    value: float
    other_end: Optional[float]
    steps: int
    target_epsilon: float
    delta: float
    evaluations: int
    report: Report
    seconds: float

    @classmethod
    def _from(cls, d: Mapping[str, Any]) -> "NoiseCalibration":
        d = dict(d)
        d["report"] = Report._from(d["report"])
        return cls(**d)


def calibrate_noise(event: Event, target_epsilon: float, delta: float, *, steps: int,
                    accountant: str = "contour", rel_tol: float = 1e-4,
                    **options: Any) -> NoiseCalibration:
    """Solve the noise knob of a per-step event for a target (ε, δ) after ``steps`` steps
    (``ewtune calibrate --solve ...`` for every mechanism).

    The knob is the event's noise parameter: :class:`RandomizedResponse`'s
    ``noise_parameter`` (smallest), :class:`DiscreteLaplace`'s ``parameter`` (largest),
    :class:`DiscreteGaussian`'s and :class:`MixtureOfGaussians`' ``sigma``, the
    :class:`Gaussian` ``sigma`` and :class:`Laplace` ``scale`` (also inside
    :class:`PoissonSampled` or :class:`SampledWithoutReplacement`), and
    :class:`TruncatedSubsampledGaussian`'s ``noise_multiplier`` (smallest); every other
    field of the event is kept, and the event's own knob value is the starting point where
    the search has one. The search uses the accountant's certified upper end of ε (its
    estimate for an uncertified accountant), to relative tolerance ``rel_tol``. ``options``
    as in :func:`epsilon` (e.g. ``adjacency="replace-one"`` for randomized response and
    fixed-size batches). Raises ``InvalidParameterError`` for an event with no knob (a
    composition: give the per-step event and ``steps``) and ``NoSolutionError`` when even
    the noisiest setting misses the target.
    """
    d = _ewtune.calibrate_event(_options(accountant, options), _event_dict(event),
                                _count(steps), _real("target_epsilon", target_epsilon),
                                _real("delta", delta), _real("rel_tol", rel_tol))
    return NoiseCalibration._from(d)


def compare(delta: Optional[float] = None, event: Optional[Event] = None, *,
            epsilon: Optional[float] = None, sigma: Optional[float] = None,
            sampling_rate: Optional[float] = None, steps: Optional[int] = None,
            **options: Any) -> Dict[str, Union[Report, str]]:
    """Every accountant on one composition (``ewtune compare``): a dict from accountant name
    to its :class:`Report`, or to a string saying why it did not apply or failed.

    Give ``delta`` (compare ε) or ``epsilon`` (compare δ), and the composition as in
    :func:`epsilon`; ``options`` are shared by every accountant.
    """
    ev = _event_dict(_make_event(event, sigma, sampling_rate, steps))
    out: Dict[str, Union[Report, str]] = {}
    rows = _ewtune.compare(_options("contour", options), ev,
                           None if delta is None else _real("delta", delta),
                           None if epsilon is None else _real("epsilon", epsilon))
    for name, rep, reason in rows:
        out[name] = Report._from(rep) if rep is not None else reason
    return out
