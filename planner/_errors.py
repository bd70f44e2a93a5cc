"""Exceptions raised by planner.

Every specific error subclasses both :class:`PlannerError` and a built-in exception, so callers
can catch either (``except planner.InputError`` or ``except ValueError``).
"""

from __future__ import annotations


class PlannerError(Exception):
    """Base class of every error planner raises on purpose."""


class InputError(PlannerError, ValueError):
    """Input data is unusable: the message names the file, column or rows and the fix."""


class InputFileError(InputError, FileNotFoundError):
    """An input file is missing or cannot be read."""


class CRSError(InputError):
    """A coordinate reference system is missing, unknown or inconsistent with the data."""


class NetworkError(PlannerError, ValueError):
    """The road network cannot be built or used for the request."""


class OptimizationError(PlannerError, ValueError):
    """An optimization request cannot be answered as posed."""


class InfeasibleError(OptimizationError):
    """No solution satisfies the request (e.g. a coverage target no candidate set can reach)."""


class ScenarioError(PlannerError, ValueError):
    """A scenario file or object is invalid."""


class PackageDataError(PlannerError, RuntimeError):
    """A file shipped with planner (vendored assets such as Leaflet) is missing or unusable."""


class PlannerWarning(UserWarning):
    """Base class of every warning planner gives on purpose: the answer is computed, but part of
    the input looks wrong and may make it wrong (the message names the rows and the fix)."""


class InputWarning(PlannerWarning):
    """Input data were read, but something in them was guessed, converted, capped or left out."""
