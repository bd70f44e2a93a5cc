"""Many regions at once: cut a data set by county (with a travel-time halo), run each on Dask.

A provincial health commission checks all its counties at once. :func:`run_batch` cuts one
data set by region polygons (counties, or the townships of one county), runs the coverage
analysis for every region as an independent task and merges the per-region summaries. Each task
gets the region's own residents plus a **halo** of roads and facilities around it, wide enough
that every journey a resident can make within the travel horizon stays inside it, so facilities
across a border serve their neighbours and the answer equals one analysis of the whole area:

* residents are counted only in their own region (each demand unit belongs to the first region,
  in file order, that contains its representative point);
* facilities within ``v_max * horizon + 2 * access_max_m`` of the region are kept (``v_max`` is
  the fastest speed the mode can reach on these roads; the two access legs are the resident's
  and the facility's straight-line joins to the road);
* roads within one more ``access_max_m`` are kept (so a facility at the halo's edge joins the
  same road as in the whole network), whole lines, never clipped;
* boundaries touching that area are kept too (the drive mode slows down inside subdistricts).

Times beyond the horizon (``horizon_minutes``, default: the coverage threshold) are not computed
in a region: they are reported as infinite, and ``mean_minutes`` in the summaries is the mean
over residents within the horizon. Coverage, covered population and every time within the
horizon equal the single-machine answer (checked unit by unit in the tests).

Tasks run on Dask (``dask.distributed``): a local cluster sized to the machine by default, or an
existing scheduler (``scheduler="tcp://host:8786"``). A region whose inputs and settings are
unchanged since the last run (same content hash) is skipped, so a killed run resumes; a region's
outputs are written into a temporary folder and renamed into place only when complete, so a
worker killed mid-write leaves no partial outputs (Dask retries the task elsewhere).

>>> from planner import batch
>>> res = batch.run_batch("regions.gpkg", data="region/", out_dir="out/henan")   # doctest: +SKIP

The package has one module per part: ``settings`` (the settings and result types), ``regions``
(regions, halos, content hashes), ``region`` (one region's task), ``run`` (``run_batch`` on
Dask and the merge) and ``cli`` (``planner batch``); every public name is re-exported here.
"""

from __future__ import annotations

from .cli import (  # noqa: F401 - re-exported
    add_parser,
    cmd_batch,
)
from .region import (  # noqa: F401 - re-exported
    allocate_sites,
    analyze_region,
    run_region,
    siting_curve,
    split_to_folders,
)
from .regions import (  # noqa: F401 - re-exported
    assign_regions,
    content_hash,
    cut_region,
    fastest_speed_kmh,
    halo_m,
    read_regions,
)
from .run import (  # noqa: F401 - re-exported
    read_layer,
    run_batch,
)
from .settings import (  # noqa: F401 - re-exported
    FAULT_ENV,
    MANIFEST,
    SUMMARY_COLUMNS,
    BatchResult,
    BatchSettings,
    RegionOutcome,
)
