"""The one progress protocol of planner.

Every long-running function takes ``progress=None`` or a callable ``progress(stage, fraction)``:
``stage`` is a short English label of the step ("isochrones", "coverage sets", "solve"),
``fraction`` runs from 0.0 to 1.0 within that stage. The CLI turns the calls into a tqdm bar,
notebooks into a tqdm.auto bar, the app into a status line; library code only calls it.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, float], None]
"""``progress(stage, fraction)``: called with ``fraction`` from 0.0 to 1.0 within each stage."""


def report(progress: Progress | None, stage: str, fraction: float) -> None:
    """Call ``progress(stage, fraction)`` when a callback was given (``fraction`` clipped to 0..1)."""
    if progress is not None:
        progress(stage, min(max(float(fraction), 0.0), 1.0))
