"""Where new stations should go: candidates, siting runs and the what-if of proposed sites.

The solvers in :mod:`planner.optimize` work on sparse matrices; this module builds those from
the road network (sparse demand x candidate travel times, never dense) and turns answers back
into places.

>>> import planner                                                                # doctest: +SKIP
>>> result = planner.analyze(planner.load_demo())                                 # doctest: +SKIP
>>> run = planner.propose_sites(result, objective="max-coverage", new_sites=5)    # doctest: +SKIP
>>> run.proposals[["site_id", "newly_covered_population"]]                        # doctest: +SKIP
"""

from __future__ import annotations

from .._constants import OBJECTIVES  # noqa: F401 - siting.OBJECTIVES is the one list
from .candidates import (  # noqa: F401 - every name stays importable from planner.siting
    COORD_DECIMALS,
    _nodes_near,
    _thin,
    candidate_sites,
)
from .evaluate import (  # noqa: F401 - every name stays importable from planner.siting
    ADMIN_CHANGE_COLUMNS,
    SiteEvaluation,
    _evaluation_base,
    _EvaluationBase,
    _make_evaluation_base,
    _no_change,
    admin_change_frame,
    admin_change_rows,
    evaluate_sites,
)
from .problem import (  # noqa: F401 - every name stays importable from planner.siting
    SitingProblem,
    _demand,
    demand_attachment,
    siting_problem,
)
from .propose import (  # noqa: F401 - every name stays importable from planner.siting
    SERVES,
    SitingRun,
    TierRequest,
    _check_new_sites,
    _column_or_array,
    _proposal_frame,
    _siting_run,
    _solve,
    candidate_numbers,
    propose_multi_tier,
    propose_sites,
    write_proposals,
)
