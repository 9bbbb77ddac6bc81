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
``LaplaceDpEvent``, ``PoissonSampledDpEvent`` of a Gaussian (or of a NoOp),
``SelfComposedDpEvent`` and ``ComposedDpEvent`` of these. Anything else (including a
Poisson-sampled Laplace, which ewtune's Rust side does not account for yet) makes
``supports()`` False and ``compose()`` raise dp_accounting's ``UnsupportedEventError``
naming the sub-event. The neighboring relation must be ``ADD_OR_REMOVE_ONE`` (ewtune
accounts for add/remove adjacency, the maximum over both orderings).

``get_epsilon``/``get_delta`` return the certified upper end when the accountant certifies
one (contour, pld, saddlepoint, rdp) and the estimate otherwise (edgeworth, gdp): a
drop-in never reports less than its certificate allows. δ = 0 and δ ≥ 1 (ε = 0 and ε = ∞)
are answered exactly, as the base class's contract asks.
"""

from __future__ import annotations

import math
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
        if neighboring_relation is not NeighboringRelation.ADD_OR_REMOVE_ONE:
            raise ValueError(
                f"neighboring_relation = {neighboring_relation}: ewtune supports "
                "NeighboringRelation.ADD_OR_REMOVE_ONE only")
        if "adjacency" in options:
            raise TypeError("the adjacency follows from neighboring_relation (add-remove)")
        super().__init__(neighboring_relation)
        self._options = options
        self._acc = _ew.Accountant(self._kind, **options)
        self._non_private = False
        self._private = False  # something with a privacy cost was composed
        self._gaussian = False  # a Gaussian part (δ(ε) > 0 for every finite ε)
        self._pure_epsilon = 0.0  # Σ count/scale over Laplace parts (ε at δ = 0)

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
        if isinstance(event, _ev.PoissonSampledDpEvent):
            if isinstance(event.event, _ev.NoOpDpEvent):
                return None
            if not isinstance(event.event, _ev.GaussianDpEvent):
                return (event, "ewtune can Poisson-sample only a Gaussian mechanism "
                               f"(not {type(event.event).__name__})")
        elif not isinstance(event, (_ev.GaussianDpEvent, _ev.LaplaceDpEvent)):
            return (event, f"ewtune does not support {type(event).__name__}")
        try:
            self._acc.check(event)
        except _EwUnsupported as e:
            return (event, str(e))
        return None

    def _record(self, event: Any, count: int) -> None:
        if count == 0 or isinstance(event, _ev.NoOpDpEvent):
            return
        if isinstance(event, _ev.NonPrivateDpEvent):
            self._non_private = True
        elif isinstance(event, _ev.SelfComposedDpEvent):
            self._record(event.event, count * event.count)
        elif isinstance(event, _ev.ComposedDpEvent):
            for e in event.events:
                self._record(e, count)
        elif isinstance(event, _ev.PoissonSampledDpEvent):
            if not isinstance(event.event, _ev.NoOpDpEvent):
                self._private = self._gaussian = True
        elif isinstance(event, _ev.GaussianDpEvent):
            self._private = self._gaussian = True
        elif isinstance(event, _ev.LaplaceDpEvent):
            self._private = True
            self._pure_epsilon += count / event.noise_multiplier

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
            return math.inf if self._gaussian else self._pure_epsilon
        return None

    def _trivial_delta(self, target_epsilon: float) -> Optional[float]:
        if not (target_epsilon >= 0):
            raise ValueError(f"invalid target_epsilon = {target_epsilon}: must be >= 0")
        if self._non_private:
            return 1.0
        if not self._private or math.isinf(target_epsilon):
            return 0.0
        if not self._gaussian and target_epsilon >= self._pure_epsilon:
            return 0.0
        return None

    def get_epsilon(self, target_delta: float) -> float:
        """ε at ``target_delta``: the certified upper end when certified, else the estimate."""
        trivial = self._trivial_epsilon(target_delta)
        if trivial is not None:
            return trivial
        r = self.report(target_delta)
        return r.upper if r.upper is not None else r.epsilon

    def get_delta(self, target_epsilon: float) -> float:
        """δ at ``target_epsilon``: the certified upper end when certified, else the estimate."""
        trivial = self._trivial_delta(target_epsilon)
        if trivial is not None:
            return trivial
        r = self.delta_report(target_epsilon)
        return r.upper if r.upper is not None else r.delta


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
