"""Type stubs of the native module (low level; use the ``ewtune`` package's API)."""

from typing import Any, Dict, List, Mapping, Optional, Tuple

__version__: str
ACCOUNTANTS: List[str]

class RawAccountant:
    def __init__(self, options: Mapping[str, Any]) -> None: ...
    @property
    def name(self) -> str: ...
    def supports(self, event: Mapping[str, Any]) -> None: ...
    def compose(self, event: Mapping[str, Any], count: int) -> None: ...
    def epsilon(self, delta: float) -> Dict[str, Any]: ...
    def delta(self, epsilon: float) -> Dict[str, Any]: ...

def calibrate(
    options: Mapping[str, Any],
    target_epsilon: float,
    delta: float,
    solve: str,
    sigma: Optional[float],
    sampling_rate: Optional[float],
    steps: Optional[int],
    rel_tol: float,
    envelope_points: int,
    max_evaluations: int,
) -> Dict[str, Any]: ...
def calibrate_event(
    options: Mapping[str, Any],
    event: Mapping[str, Any],
    steps: int,
    target_epsilon: float,
    delta: float,
    rel_tol: float,
) -> Dict[str, Any]: ...
def compare(
    options: Mapping[str, Any],
    event: Mapping[str, Any],
    delta: Optional[float] = ...,
    epsilon: Optional[float] = ...,
) -> List[Tuple[str, Optional[Dict[str, Any]], Optional[str]]]: ...
