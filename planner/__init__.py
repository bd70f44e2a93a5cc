"""planner: who lives too far from primary health care, and where new stations should go."""

from __future__ import annotations

__version__ = "0.1.0"

from ._errors import (
    CRSError,
    InfeasibleError,
    InputError,
    InputFileError,
    NetworkError,
    OptimizationError,
    PlannerError,
    ScenarioError,
)

__all__ = [
    "__version__",
    "CRSError",
    "InfeasibleError",
    "InputError",
    "InputFileError",
    "NetworkError",
    "OptimizationError",
    "PlannerError",
    "ScenarioError",
]
