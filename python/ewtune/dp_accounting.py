"""Drop-in accountants for Google's ``dp_accounting``.

``ContourAccountant``, ``PldAccountant``, ``SaddlePointAccountant``, ``EdgeworthAccountant``,
``RdpAccountant`` and ``GdpAccountant`` subclass ``dp_accounting.PrivacyAccountant`` and take
dp_accounting's own ``DpEvent`` trees::

    import dp_accounting
    from ewtune.dp_accounting import ContourAccountant

    event = dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(0.01, dp_accounting.GaussianDpEvent(0.8)), 1000)
    acc = ContourAccountant().compose(event)
    acc.get_epsilon(1e-5)      # the certified upper end of ε
    acc.bracket(1e-5)          # (lower, upper): the certified interval
    acc.report(1e-5)           # the full ewtune.Report

Supported events: ``NoOpDpEvent``, ``NonPrivateDpEvent``, ``GaussianDpEvent``,
``LaplaceDpEvent``, ``PoissonSampledDpEvent`` of a Gaussian, a Laplace or a NoOp,
``RandomizedResponseDpEvent``, ``DiscreteLaplaceDpEvent``, ``MixtureOfGaussiansDpEvent``,
``SampledWithoutReplacementDpEvent`` of a Gaussian or a NoOp (``REPLACE_ONE`` only; every
accountant but gdp), ``TruncatedSubsampledGaussianDpEvent`` (contour, pld, saddlepoint, rdp, edgeworth;
docs/math.md §17.8),
``SelfComposedDpEvent`` and ``ComposedDpEvent`` of these; an accountant that cannot handle one
of them (e.g. gdp and a Poisson-sampled Laplace or a mixture of Gaussians) says so. Anything
else makes ``supports()`` False and ``compose()``
raise dp_accounting's ``UnsupportedEventError`` naming the sub-event. The neighboring relation
is ``ADD_OR_REMOVE_ONE`` (the maximum over both orderings; the default) or ``REPLACE_ONE``
(randomized response is defined only under it; a Gaussian is accounted with the sum moving by
2; a Poisson-sampled Gaussian with q < 1 as the pair q N(−1) + (1 − q) N(0) against
q N(1) + (1 − q) N(0), as dp_accounting does, by contour, pld, saddlepoint, rdp and edgeworth;
Laplace, discrete
Laplace, the mixture of Gaussians and the Poisson-sampled Laplace are refused under it, as
ewtune's Rust side does).

Fixed-size batches (``SampledWithoutReplacementDpEvent``) are accounted under ``REPLACE_ONE`` by
the symmetrised pair of docs/math.md §17.7, which stays valid when the other records' gradients
are chosen adaptively (certified by contour, docs/math.md §17.11, pld and saddlepoint,
§17.13; bounded by rdp; estimated by edgeworth).
Their σ follows the Gaussian's ``REPLACE_ONE`` convention above
(replacing a record moves the sum by up to 2). dp_accounting's own RDP for this event takes σ
relative to the replace-one sensitivity (a move of 1), so its number at σ is comparable with
ours at 2σ (docs/math.md §17.6).

``get_epsilon``/``get_delta`` return the certified upper end when the accountant certifies
one (contour, pld, saddlepoint, rdp) and the estimate otherwise (edgeworth, gdp): a
drop-in never reports less than its certificate allows. An Edgeworth estimate that its report
marks invalid raises ``ewtune.ComputationError`` instead (``bracket=True`` gives a certified
upper end there). Accountants pickle and ``copy.deepcopy`` (the composed events are kept). δ = 0 and δ ≥ 1 (ε = 0 and ε = ∞)
are answered exactly, as the base class's contract asks.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Optional, Tuple

try:
    import dp_accounting as _dpa
    from dp_accounting import dp_event as _ev
    from dp_accounting import privacy_accountant as _pa
except ImportError as _e:  # pragma: no cover - exercised only without dp_accounting
    raise ImportError(
        "ewtune.dp_accounting needs the dp-accounting package (pip install dp-accounting)"
    ) from _e

import ewtune as _ew
from ewtune._errors import UnsupportedEventError as _EwUnsupported

NeighboringRelation = _pa.NeighboringRelation
# dp_accounting ≥ 0.6 has truncated Poisson sampling; an empty tuple where it does not.
_TRUNCATED: tuple = tuple(
    t for t in [getattr(_ev, "TruncatedSubsampledGaussianDpEvent", None)] if t is not None)
UnsupportedEventError = _pa.UnsupportedEventError

__all__ = [
    "ContourAccountant", "EdgeworthAccountant", "GdpAccountant", "PldAccountant",
    "RdpAccountant", "SaddlePointAccountant", "UnsupportedEventError",
]


class _EwtuneAccountant(_pa.PrivacyAccountant):
    """Common implementation: an ewtune accountant behind dp_accounting's interface."""

    _kind = "contour"

    def __init__(
        self,
        neighboring_relation: NeighboringRelation = NeighboringRelation.ADD_OR_REMOVE_ONE,
        **options: Any,
    ) -> None:
        relations = {
            NeighboringRelation.ADD_OR_REMOVE_ONE: "add-remove",
            NeighboringRelation.REPLACE_ONE: "replace-one",
        }
        if neighboring_relation not in relations:
            raise ValueError(
                f"neighboring_relation = {neighboring_relation}: ewtune supports "
                "NeighboringRelation.ADD_OR_REMOVE_ONE and NeighboringRelation.REPLACE_ONE")
        if "adjacency" in options:
            raise TypeError("the adjacency follows from neighboring_relation")
        super().__init__(neighboring_relation)
        self._options = options
        self._acc = _ew.Accountant(
            self._kind, adjacency=relations[neighboring_relation], **options)
        self._non_private = False
        self._private = False  # something with a privacy cost was composed
        self._gaussian = False  # a Gaussian part (δ(ε) > 0 for every finite ε)
        # The largest privacy loss (ε at δ = 0) of the bounded-loss parts: exact rationals
        # for Laplace (count/b) and discrete Laplace (count·a·Δ), f64 for the logarithms of
        # randomized response and the Poisson-sampled Laplace (rounded up when used).
        self._pure_exact = Fraction(0)
        self._pure_logs = 0.0

    # -- composition ---------------------------------------------------------------------

    def _check(self, event: Any) -> Optional[Tuple[Any, str]]:
        """(offending sub-event, message) or None; bad parameters raise ValueError."""
        if isinstance(event, (_ev.NoOpDpEvent, _ev.NonPrivateDpEvent)):
            return None
        if isinstance(event, _ev.SelfComposedDpEvent):
            return self._check(event.event)
        if isinstance(event, _ev.ComposedDpEvent):
            for e in event.events:
                bad = self._check(e)
                if bad is not None:
                    return bad
            return None
        if isinstance(event, _ev.SampledWithoutReplacementDpEvent):
            if isinstance(event.event, _ev.NoOpDpEvent):
                return None
            if not isinstance(event.event, _ev.GaussianDpEvent):
                return (event, "ewtune can sample without replacement only for a Gaussian "
                               f"mechanism (not {type(event.event).__name__})")
        elif isinstance(event, _ev.PoissonSampledDpEvent):
            if isinstance(event.event, _ev.NoOpDpEvent):
                return None
            if not isinstance(event.event, (_ev.GaussianDpEvent, _ev.LaplaceDpEvent)):
                return (event, "ewtune can Poisson-sample only a Gaussian or a Laplace "
                               f"mechanism (not {type(event.event).__name__})")
        elif (isinstance(event, _ev.RandomizedResponseDpEvent)
              and self.neighboring_relation != NeighboringRelation.REPLACE_ONE):
            # As dp_accounting: randomized response is a replace-one mechanism.
            return (event, "randomized response is supported under REPLACE_ONE only")
        elif not isinstance(event, (_ev.GaussianDpEvent, _ev.LaplaceDpEvent,
                                    _ev.RandomizedResponseDpEvent,
                                    _ev.DiscreteLaplaceDpEvent,
                                    _ev.MixtureOfGaussiansDpEvent) + _TRUNCATED):
            return (event, f"ewtune does not support {type(event).__name__}")
        try:
            self._acc.check(event)
        except _EwUnsupported as e:
            return (event, str(e))
        return None

    def _record(self, event: Any, count: int) -> None:
        if count == 0 or isinstance(event, _ev.NoOpDpEvent):
            return
        # The degenerate events the conversion maps to no-op / non-private (ewtune's
        # _dp_accounting_dict): record them as such.
        kind = None
        if not isinstance(event, (_ev.SelfComposedDpEvent, _ev.ComposedDpEvent)):
            d = _ew._dp_accounting_dict(event)
            kind = d.get("type") if d else None
        if kind == "no_op":
            return
        if isinstance(event, _ev.NonPrivateDpEvent) or kind == "non_private":
            self._non_private = True
        elif isinstance(event, _ev.SelfComposedDpEvent):
            self._record(event.event, count * event.count)
        elif isinstance(event, _ev.ComposedDpEvent):
            for e in event.events:
                self._record(e, count)
        elif isinstance(event, _ev.PoissonSampledDpEvent):
            if isinstance(event.event, _ev.LaplaceDpEvent):
                # Largest loss of one step: ln(1 − q + q·e^{1/b}) (docs/math.md §15.5).
                q, a = event.sampling_probability, 1.0 / event.event.noise_multiplier
                self._private = True
                self._pure_logs += count * (a + math.log(q + (1.0 - q) * math.exp(-a)))
            elif not isinstance(event.event, _ev.NoOpDpEvent):
                self._private = self._gaussian = True
        elif isinstance(event, _ev.GaussianDpEvent):
            self._private = self._gaussian = True
        elif isinstance(event, _ev.SampledWithoutReplacementDpEvent):
            if not isinstance(event.event, _ev.NoOpDpEvent):
                self._private = self._gaussian = True
        elif isinstance(event, _ev.LaplaceDpEvent):
            self._private = True
            self._pure_exact += Fraction(count) / Fraction(event.noise_multiplier)
        elif isinstance(event, _ev.RandomizedResponseDpEvent):
            p, k = event.noise_parameter, event.num_buckets
            if k > 1 and p < 1.0:
                if p == 0.0:
                    self._non_private = True
                else:
                    # Largest loss ln((1 − p + p/k)/(p/k)) (docs/math.md §16.1).
                    self._private = True
                    self._pure_logs += count * math.log1p(k * (1.0 - p) / p)
        elif isinstance(event, _ev.DiscreteLaplaceDpEvent):
            self._private = True
            self._pure_exact += count * Fraction(event.noise_parameter) * event.sensitivity
        elif isinstance(event, _ev.MixtureOfGaussiansDpEvent):
            # A sensitivity c_i > 0 with p_i > 0 makes the loss unbounded (δ(ε) > 0 for every ε).
            if any(c != 0 and p > 0 for c, p in zip(event.sensitivities, event.sampling_probs)):
                self._private = self._gaussian = True

        elif _TRUNCATED and isinstance(event, _TRUNCATED):
            if (event.sampling_probability == 0 or event.truncated_batch_size == 0
                    or event.dataset_size == 0):
                pass
            elif event.noise_multiplier == 0:
                self._non_private = True
            else:
                self._private = self._gaussian = True

    def _maybe_compose(self, event: Any, count: int, do_compose: bool):
        bad = self._check(event)
        if bad is not None:
            return _pa.PrivacyAccountant.CompositionErrorDetails(
                invalid_event=bad[0], error_message=bad[1])
        if do_compose:
            self._acc.compose(event, count)
            self._record(event, count)
        return None

    # -- queries -------------------------------------------------------------------------

    def report(self, target_delta: float) -> "_ew.Report":
        """The full :class:`ewtune.Report` for ε at ``target_delta`` in (0, 1)."""
        return self._acc.epsilon(target_delta)

    def delta_report(self, target_epsilon: float) -> "_ew.Report":
        """The full :class:`ewtune.Report` for δ at ``target_epsilon`` ≥ 0."""
        return self._acc.delta(target_epsilon)

    def bracket(self, target_delta: float) -> Tuple[Optional[float], Optional[float]]:
        """The certified interval ``(lower, upper)`` of ε at ``target_delta`` (an end the
        accountant does not certify is None)."""
        trivial = self._trivial_epsilon(target_delta)
        if trivial is not None:
            return (trivial, trivial)
        return self.report(target_delta).bracket

    def delta_bracket(self, target_epsilon: float) -> Tuple[Optional[float], Optional[float]]:
        """The certified interval ``(lower, upper)`` of δ at ``target_epsilon``."""
        trivial = self._trivial_delta(target_epsilon)
        if trivial is not None:
            return (trivial, trivial)
        return self.delta_report(target_epsilon).bracket

    def _trivial_epsilon(self, target_delta: float) -> Optional[float]:
        if not (target_delta >= 0):
            raise ValueError(f"invalid target_delta = {target_delta}: must lie in [0, 1]")
        if self._non_private:
            return math.inf
        if not self._private or target_delta >= 1:
            return 0.0
        if target_delta == 0:
            return math.inf if self._gaussian else self._pure_epsilon_up()
        return None

    def _trivial_delta(self, target_epsilon: float) -> Optional[float]:
        if not (target_epsilon >= 0):
            raise ValueError(f"invalid target_epsilon = {target_epsilon}: must be >= 0")
        if self._non_private:
            return 1.0
        if not self._private or math.isinf(target_epsilon):
            return 0.0
        if not self._gaussian and target_epsilon >= self._pure_epsilon_up():
            return 0.0
        return None

    def _pure_epsilon_up(self) -> float:
        """The largest privacy loss of the composition (ε at δ = 0), rounded up: the exact
        rational part to the next float at or above it; each logarithm carries a few ulps of
        rounding (covered by 1e-12 relative) and the final sum one more."""
        try:
            x = float(self._pure_exact)
        except OverflowError:  # beyond the largest float (a Laplace scale of 1e-320)
            return math.inf
        if Fraction(x) < self._pure_exact:
            x = math.nextafter(x, math.inf)
        if self._pure_logs > 0.0:
            x = math.nextafter(x + self._pure_logs * (1.0 + 1e-12), math.inf)
        return x

    def get_epsilon(self, target_delta: float) -> float:
        """ε at ``target_delta``: the certified upper end when certified, else the estimate
        (``ewtune.ComputationError`` where the report marks the estimate invalid)."""
        trivial = self._trivial_epsilon(target_delta)
        if trivial is not None:
            return trivial
        return _ew._drop_in_value(self.report(target_delta))

    def get_delta(self, target_epsilon: float) -> float:
        """δ at ``target_epsilon``: the certified upper end when certified, else the estimate
        (``ewtune.ComputationError`` where the report marks the estimate invalid)."""
        trivial = self._trivial_delta(target_epsilon)
        if trivial is not None:
            return trivial
        return _ew._drop_in_value(self.delta_report(target_epsilon))


class ContourAccountant(_EwtuneAccountant):
    """ewtune's contour accountant: exact δ(ε) by contour inversion with a certified bracket
    (relative width ~1e-10). Options: ``tolerance`` (relative on δ, default 1e-9)."""

    _kind = "contour"


class PldAccountant(_EwtuneAccountant):
    """ewtune's PLD accountant: certified bracket from connect-the-dots (upper) and a
    second-order rounding bound (lower). Options: ``tolerance`` (≥ 1e-3), ``grid_budget``."""

    _kind = "pld"


class SaddlePointAccountant(_EwtuneAccountant):
    """ewtune's saddle-point accountant: estimate with a certified bracket. Options:
    ``order``, ``precision``, ``kolmogorov_only``."""

    _kind = "saddlepoint"


class EdgeworthAccountant(_EwtuneAccountant):
    """ewtune's Edgeworth accountant: an estimate (no certificate). Options: ``order``,
    ``precision``, ``bracket``."""

    _kind = "edgeworth"


class RdpAccountant(_EwtuneAccountant):
    """ewtune's RDP accountant: a certified upper bound (improved conversion)."""

    _kind = "rdp"


class GdpAccountant(_EwtuneAccountant):
    """ewtune's GDP (CLT) accountant: an estimate (exact for Gaussian compositions)."""

    _kind = "gdp"
