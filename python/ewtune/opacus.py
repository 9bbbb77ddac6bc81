"""Drop-in accountants for Opacus.

``ContourAccountant`` (mechanism ``"ewtune-contour"``), ``PldAccountant``
(``"ewtune-pld"``), ``SaddlePointAccountant`` (``"ewtune-saddlepoint"``), ``RdpAccountant``
(``"ewtune-rdp"``), ``EdgeworthAccountant`` (``"ewtune-edgeworth"``) and ``GdpAccountant``
(``"ewtune-gdp"``) implement Opacus's accountant protocol: ``step(noise_multiplier=,
sample_rate=)``, ``get_epsilon(delta)``, ``__len__``, ``mechanism()``, ``history`` (a list of
``(noise_multiplier, sample_rate, num_steps)``, runs of equal steps compressed) and
``state_dict``/``load_state_dict``. Changing σ or q mid-run composes heterogeneously (each
run is its own part of one composition; nothing is approximated).

When ``opacus`` is importable they subclass ``opacus.accountants.IAccountant``, and
:func:`register` adds them to Opacus's registry, so that::

    import ewtune.opacus
    ewtune.opacus.register()
    PrivacyEngine(accountant="ewtune-contour")
    opacus.accountants.utils.get_noise_multiplier(..., accountant="ewtune-contour")

work. ``get_epsilon`` returns the certified upper end of ε where the accountant certifies
one (contour, pld, saddlepoint, rdp) and the estimate otherwise (edgeworth, gdp);
``get_bracket(delta)`` gives ``(lower, upper)`` and ``get_report(delta)`` the full
:class:`ewtune.Report`. A step with ``noise_multiplier == 0`` is non-private (ε = ∞).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional, Tuple

import ewtune as _ew

try:  # Subclass Opacus's interface when it is installed.
    from opacus.accountants import IAccountant as _Base

    HAVE_OPACUS = True
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_OPACUS = False

    class _Base:  # type: ignore[no-redef]
        """Stand-in for ``opacus.accountants.IAccountant`` when Opacus is not installed."""

        def __init__(self) -> None:
            self.history: List[Tuple[float, float, int]] = []


__all__ = [
    "ContourAccountant", "EdgeworthAccountant", "GdpAccountant", "HAVE_OPACUS",
    "PldAccountant", "RdpAccountant", "SaddlePointAccountant", "register",
]


class _EwtuneOpacusAccountant(_Base):
    """Common implementation of Opacus's protocol on an ewtune accountant."""

    _kind = "contour"

    def __init__(self, **options: Any) -> None:
        super().__init__()
        self.history: List[Tuple[float, float, int]] = []
        self._options = options
        # Fail on bad options now, not at the first get_epsilon.
        _ew.Accountant(self._kind, **options)
        self._cache: Dict[Any, "_ew.Report"] = {}

    @classmethod
    def mechanism(cls) -> str:
        return f"ewtune-{cls._kind}"

    def step(self, *, noise_multiplier: float, sample_rate: float) -> None:
        """Record one optimisation step (runs of equal (σ, q) are compressed)."""
        if self.history and self.history[-1][0] == noise_multiplier \
                and self.history[-1][1] == sample_rate:
            sigma, q, n = self.history[-1]
            self.history[-1] = (sigma, q, n + 1)
        else:
            self.history.append((noise_multiplier, sample_rate, 1))

    def __len__(self) -> int:
        return sum(int(n) for _, _, n in self.history)

    def _event(self) -> "_ew.Composed":
        parts = []
        for sigma, q, n in self.history:
            if n == 0:
                continue
            if sigma == 0:
                parts.append(_ew.NonPrivate())
                continue
            base = _ew.PoissonSampled(float(q), _ew.Gaussian(float(sigma)))
            parts.append(_ew.SelfComposed(base, int(n)))
        return _ew.Composed(parts)

    def get_report(self, delta: float) -> "_ew.Report":
        """The full :class:`ewtune.Report` for ε at ``delta``."""
        key = (tuple(tuple(h) for h in self.history), float(delta))
        r = self._cache.get(key)
        if r is None:
            acc = _ew.Accountant(self._kind, **self._options)
            acc.compose(self._event())
            r = acc.epsilon(delta)
            self._cache = {key: r}  # keep only the latest answer
        return r

    def get_bracket(self, delta: float) -> Tuple[Optional[float], Optional[float]]:
        """The certified interval ``(lower, upper)`` of ε at ``delta`` (None: not certified)."""
        return self.get_report(delta).bracket

    def get_epsilon(self, delta: float, *args: Any, **kwargs: Any) -> float:
        """ε spent so far at ``delta``: the certified upper end where certified, else the
        estimate (``ewtune.ComputationError`` where the report marks the estimate invalid)."""
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.get_epsilon takes only delta")
        return _ew._drop_in_value(self.get_report(delta))

    def state_dict(self, destination: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        if destination is None:
            destination = OrderedDict()
        destination["history"] = list(self.history)
        destination["mechanism"] = self.mechanism()
        destination["options"] = dict(self._options)
        return destination

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        if not state_dict or "history" not in state_dict or "mechanism" not in state_dict:
            raise ValueError("state_dict must have the keys `history` and `mechanism`")
        mech = state_dict["mechanism"]
        if callable(mech):
            mech = mech()
        if mech != self.mechanism():
            raise ValueError(f"state_dict of {mech} cannot be loaded into an accountant with "
                             f"mechanism {self.mechanism()}")
        self.history = [tuple(h) for h in state_dict["history"]]
        if "options" in state_dict:
            self._options = dict(state_dict["options"])
        self._cache = {}


class ContourAccountant(_EwtuneOpacusAccountant):
    """Opacus accountant on ewtune's contour accountant (certified, ~1e-10 relative width)."""

    _kind = "contour"


class PldAccountant(_EwtuneOpacusAccountant):
    """Opacus accountant on ewtune's PLD accountant (certified bracket)."""

    _kind = "pld"


class SaddlePointAccountant(_EwtuneOpacusAccountant):
    """Opacus accountant on ewtune's saddle-point accountant (certified bracket)."""

    _kind = "saddlepoint"


class RdpAccountant(_EwtuneOpacusAccountant):
    """Opacus accountant on ewtune's RDP accountant (certified upper bound)."""

    _kind = "rdp"


class EdgeworthAccountant(_EwtuneOpacusAccountant):
    """Opacus accountant on ewtune's Edgeworth accountant (an estimate)."""

    _kind = "edgeworth"


class GdpAccountant(_EwtuneOpacusAccountant):
    """Opacus accountant on ewtune's GDP accountant (an estimate)."""

    _kind = "gdp"


ALL = (ContourAccountant, PldAccountant, SaddlePointAccountant, RdpAccountant,
       EdgeworthAccountant, GdpAccountant)


def register() -> List[str]:
    """Register every ewtune accountant with Opacus (``opacus.accountants.registry``) under
    its mechanism name (``ewtune-contour``, ...); returns the names.

    Uses ``registry.register_accountant`` (current Opacus). Raises ImportError without Opacus
    and RuntimeError if this Opacus has no registry to add to.
    """
    if not HAVE_OPACUS:
        raise ImportError("ewtune.opacus.register() needs opacus (pip install opacus)")
    from opacus.accountants import registry

    names = []
    for cls in ALL:
        if hasattr(registry, "register_accountant"):
            registry.register_accountant(cls.mechanism(), cls)
        elif isinstance(getattr(registry, "_ACCOUNTANTS", None), dict):
            # An Opacus with the registry dict but without register_accountant.
            registry._ACCOUNTANTS[cls.mechanism()] = cls
        else:
            raise RuntimeError("this Opacus version has no accountant registry to add to")
        names.append(cls.mechanism())
    return names
