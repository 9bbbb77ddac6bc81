"""Exceptions raised by ewtune.

Bad input is a ``ValueError`` (``InvalidParameterError`` names the parameter in
``.parameter`` and its accepted range in the message; ``UnsupportedEventError`` names the
sub-event; ``BudgetExceededError`` says which budget). A computation that failed is an
``ewtune.ComputationError`` (a ``RuntimeError``): ``CertificationError`` when a certified
answer could not be produced (the call refuses rather than return an uncertified number),
``NoSolutionError`` when a calibration has no solution in its range.
"""

from typing import Optional


class InvalidParameterError(ValueError):
    """A parameter is outside its accepted range; ``parameter`` names it (when known)."""

    parameter: Optional[str] = None


class UnsupportedEventError(ValueError):
    """The accountant cannot account for an event; the message names the sub-event."""


class BudgetExceededError(ValueError):
    """The request would exceed a memory or work budget (checked before allocating)."""


class ComputationError(RuntimeError):
    """A computation failed (never the caller's input)."""


class CertificationError(ComputationError):
    """A certified answer could not be produced; the message says what and why."""


class NoSolutionError(ComputationError):
    """A calibration has no solution in the searched range."""
