"""Choose new primary-care sites on coverage and travel-time matrices.

This module is the solver core of the ``optimize`` stage. It works on matrices, not geography:

* ``weights`` - residents of each demand unit (length ``n_demand``);
* ``cover`` - a sparse CSR matrix (``n_demand x n_candidates``, boolean or 0/1): demand unit ``i``
  is within the time threshold of candidate site ``j``;
* ``covered_by_existing`` - boolean, demand already within reach of a kept existing facility;
* ``time_s`` - a sparse CSR matrix of travel times in seconds within a search cutoff (a missing
  entry means "beyond the cutoff" and costs ``penalty_s``) and ``existing_time_s``, the time of
  each demand unit to its nearest existing facility (``inf`` if none), for p-median / p-center.

Problems solved
---------------
=================================  ===========================================================
:func:`solve_max_coverage`         maximal covering (MCLP): ``p`` sites or a budget, optional
                                   capacities
:func:`solve_set_cover`            set covering (LSCP): fewest or cheapest sites reaching every
                                   coverable resident or a target share
:func:`solve_p_median`             least population-weighted mean travel time, optional
                                   capacities
:func:`solve_p_center`             least worst travel time
:func:`solve_multi_tier`           several facility tiers (centre, station, ...) at once, one
                                   tier per site, per-tier ``p`` and a shared budget
:func:`evaluate_selection`         what a given set of sites adds (fast what-if)
:func:`merge_identical_rows`       merge demand units with the same covering set
=================================  ===========================================================

Every solver returns a :class:`Solution` whose ``bound`` is a certified bound on the best possible
objective, so ``gap`` says how far from optimal the answer can be. Heuristic answers (greedy, then
1-swap local search and a few rounds of iterated local search) carry the LP-relaxation bound
computed with HiGHS; the bound is recomputed from the LP duals by weak duality, so it stays valid
even when the LP was solved only approximately (interior point without crossover). Large models
use a Lagrangian bound instead (subgradient; every multiplier vector gives a valid bound).
``method="auto"`` then, when the certified gap is above ``mip_gap``, solves the MILP restricted
to the candidates the LP uses (small; often optimal in seconds) and, if the gap is still too
large, the full HiGHS MILP warm-started with the best answer so far.

Gaps, stopping decisions and ``status`` are always on the objective the user is told. The
p-median engines maximise the savings (base time minus travel time) internally; a relative gap
on the savings is not one on the mean time (savings five times the mean time make 0.5 % on the
savings 2.5 % on the mean), so HiGHS is given an absolute gap converted from ``mip_gap`` on the
mean time (:class:`_Report`), and its MIP dual bound is converted back.

HiGHS quirks handled here (highspy 1.16): the banner printed on first construction is
silenced; after a warm start HiGHS may return the start vector, and report a wrong objective
for it, although it found a better solution, so every solution it reports is re-evaluated and
the run repeated cold when its claim cannot be verified; its presolve ignored the time limit on
multi-million non-zero models, so presolve is off there and ``auto`` skips such MILPs.

Dense ``n_demand x n_candidates`` arrays are never built: demand rows with identical covering
sets are merged (weights summed) and demand already covered is dropped before solving.
"""

import warnings
from typing import Any

from ._checks import merge_identical_rows
from ._highs import solve_lp_relaxation
from ._results import METHODS, MergedRows, ProgressCallback, SelectionEvaluation, Solution, TierSpec
from .coverage import (
    CoverageProblem,
    coverage_model,
    evaluate_selection,
    solve_max_coverage,
)
from .coverage import (
    evaluate_sites as evaluate_sites,  # deprecated alias of evaluate_selection; warns
)
from .median import solve_p_center, solve_p_median
from .multitier import solve_multi_tier
from .setcover import solve_set_cover

__all__ = [
    "METHODS",
    "CoverageProblem",
    "MergedRows",
    "ProgressCallback",
    "SelectionEvaluation",
    "Solution",
    "TierSpec",
    "coverage_model",
    "evaluate_selection",
    "merge_identical_rows",
    "solve_lp_relaxation",
    "solve_max_coverage",
    "solve_multi_tier",
    "solve_p_center",
    "solve_p_median",
    "solve_set_cover",
]


def __getattr__(name: str) -> Any:
    # SiteEvaluation was renamed (planner.siting.SiteEvaluation is a different class); the old
    # name still works for a while but warns. evaluate_sites warns when called (coverage.py).
    if name == "SiteEvaluation":
        warnings.warn(
            "planner.optimize.SiteEvaluation is deprecated; use "
            "planner.optimize.SelectionEvaluation",
            DeprecationWarning,
            stacklevel=2,
        )
        return SelectionEvaluation
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
