"""Library functions behind the Streamlit app (``app.py``), cut by concern.

``app.py`` only sets up the page. The modules in the first table below are plain Python that a
notebook or a test can call too (Streamlit is imported lazily and only by the map view); those
in the second draw the page and import Streamlit, so only ``streamlit run app.py`` imports them
(they are not re-exported here).

========================  ====================================================================
module                    holds
========================  ====================================================================
``settings``              modes and speeds, the scenario's cache keys, tiers, isochrone bands
``uploads``               storing uploaded files safely, loading and checking a scenario's data
``uploads_crs``           an upload's own coordinate system, the user's choice, GCJ-02 hints
``uploads_columns``       an upload's columns: preview, guesses, reading with the chosen ones
``uploads_panel``         one upload's settings (coordinate system, column mapping) drawn
``standards_table``       the standards table (rows of :mod:`planner.compliance`), its changes
``whatif``                what-if of proposed sites and facility edits, the optimizer's proposals
``edits``                 closing, moving or re-tiering existing facilities (:class:`FacilityEdits`)
``area``                  the threshold as a filter on the times; study areas (units, a polygon)
``mapview``               coverage bands, the base map, the what-if layers, drawing in Streamlit
``layout``                the page's CSS (fits a 1366 x 768 screen) and the map's height
``scenarios``             scenarios on disk (save, load, list, autosave), comparing scenarios
``exports``               tables (Excel, CSV zip), GeoPackage, the HTML report
``_common``               small helpers the modules share (documented internal)
========================  ====================================================================

========================  ====================================================================
module (draws the page)   holds
========================  ====================================================================
``compute``               cached computations per server, progress boxes, errors in words
``state``                 the session state: the working scenario and the widgets showing it
``ui``                    what the panels share: the language, names for the reader, ``View``
``actions``               callbacks (sites, edits, study area, scenarios), clicks, uploads
``sidebar``               language, data and uploads, travel settings, base map
``page``                  the main area (a fragment): compute, take a click, draw the rest
``panels``                headline numbers, what-if panels, the map
``tabs``                  coverage, standards, proposed sites, scenarios, downloads
``optimizer_tab``         the optimizer's widgets, its run and its result
========================  ====================================================================

Every public name is re-exported here, so ``from planner import app as aps`` is all the app
needs. Module-level limits (``ZIP_MAX_BYTES``, ...) are read by their own module: change them
there (``planner.app.uploads.ZIP_MAX_BYTES``), not on this package.

>>> import planner
>>> from planner import app as aps
>>> ds = planner.load_demo()                                              # doctest: +SKIP
>>> result = planner.analyze(ds, isochrone_minutes=None)                  # doctest: +SKIP
>>> w = aps.what_if(ds, result, ((114.27, 34.52, "community_station"),))  # doctest: +SKIP
>>> w.newly_covered_population                                            # doctest: +SKIP
"""

from __future__ import annotations

from .area import area_mask, at_minutes, drawn_boundary, polygon_from_clicks, restrict
from .edit_layers import edit_layers, nearest_facility_id
from .edits import FacilityEdits, edited_dataset, edited_result
from .exports import (
    export_gpkg,
    export_tables,
    html_report,
    tables_csv_zip,
    tables_xlsx,
)
from .layout import APP_CSS, MAP_HEIGHT_PX
from .mapview import (
    MAP_KEPT,
    MapPayload,
    base_map,
    click_lonlat,
    coverage_bands,
    feature_groups_script,
    map_payload,
    needs_whole_map,
    show_map,
    whatif_layers,
)
from .scenarios import (
    autosave_path,
    list_scenarios,
    load_scenario,
    persist_uploads,
    prune_autosaves,
    save_scenario,
    scenario_dir,
    scenario_file_name,
    scenario_row,
    scenario_row_text,
)
from .settings import (
    BAND_CELL_M,
    BASEMAP_CHOICES,
    DEFAULT_ACCESS_MAX_M,
    MODE_SPEED_KMH,
    MODES,
    band_levels,
    basemap_needs_key,
    canonical_tiers,
    coverage_settings,
    data_key,
    is_demo,
    tier_label,
)
from .standards_table import (
    DEFAULT_RULES,
    DISPLAY_COLUMNS,
    RULES,
    STATUS,
    changed_units,
    count_text,
    facility_units,
    figure_text,
    percent_text,
    rule_text,
    standards_change,
    standards_display,
    standards_summary,
    standards_units,
    value_text,
)
from .uploads import (
    FACILITY_CRS,
    UPLOAD_LIMIT_MB,
    UPLOAD_ORDER,
    UPLOAD_TYPES,
    ZIP_MAX_BYTES,
    ZIP_MAX_MEMBERS,
    check_dataset,
    demo_candidates_file,
    load_data,
    scrub_paths,
    store_upload,
    upload_error,
)
from .uploads_columns import Prepared, UploadOptions, prepare_upload
from .uploads_crs import CRS_CHOICES, TYPED_CRS, FileCrs, UploadProblem, file_crs, typed_point_wgs84
from .uploads_panel import (
    Inspection,
    crs_widget_key,
    draw_upload_settings,
    inspect_upload,
    points_gcj02,
    upload_options,
    upload_widget_keys,
)
from .whatif import (
    CANDIDATE_SOURCES,
    OBJECTIVES,
    WhatIf,
    check_site,
    numeric_columns,
    printable_map,
    proposed_frame,
    run_optimizer,
    study_area,
    what_if,
)

__all__ = [
    "edit_layers",
    "nearest_facility_id",
    "printable_map",
    "restrict",
    "polygon_from_clicks",
    "drawn_boundary",
    "edited_result",
    "edited_dataset",
    "at_minutes",
    "area_mask",
    "FacilityEdits",
    "UPLOAD_ORDER",
    "Prepared",
    "UploadOptions",
    "prepare_upload",
    "CRS_CHOICES",
    "TYPED_CRS",
    "FileCrs",
    "UploadProblem",
    "file_crs",
    "typed_point_wgs84",
    "Inspection",
    "crs_widget_key",
    "draw_upload_settings",
    "inspect_upload",
    "points_gcj02",
    "upload_options",
    "upload_widget_keys",
    "scrub_paths",
    "upload_error",
    "APP_CSS",
    "BAND_CELL_M",
    "BASEMAP_CHOICES",
    "CANDIDATE_SOURCES",
    "DEFAULT_ACCESS_MAX_M",
    "DEFAULT_RULES",
    "DISPLAY_COLUMNS",
    "FACILITY_CRS",
    "MAP_HEIGHT_PX",
    "MODES",
    "MODE_SPEED_KMH",
    "MAP_KEPT",
    "MapPayload",
    "OBJECTIVES",
    "RULES",
    "STATUS",
    "UPLOAD_LIMIT_MB",
    "UPLOAD_TYPES",
    "WhatIf",
    "ZIP_MAX_BYTES",
    "ZIP_MAX_MEMBERS",
    "autosave_path",
    "band_levels",
    "base_map",
    "basemap_needs_key",
    "canonical_tiers",
    "changed_units",
    "check_dataset",
    "check_site",
    "click_lonlat",
    "count_text",
    "coverage_bands",
    "coverage_settings",
    "data_key",
    "demo_candidates_file",
    "export_gpkg",
    "export_tables",
    "facility_units",
    "feature_groups_script",
    "figure_text",
    "html_report",
    "is_demo",
    "list_scenarios",
    "load_data",
    "load_scenario",
    "map_payload",
    "needs_whole_map",
    "numeric_columns",
    "percent_text",
    "persist_uploads",
    "proposed_frame",
    "prune_autosaves",
    "rule_text",
    "run_optimizer",
    "save_scenario",
    "scenario_dir",
    "scenario_file_name",
    "scenario_row",
    "scenario_row_text",
    "show_map",
    "standards_change",
    "standards_display",
    "standards_summary",
    "standards_units",
    "store_upload",
    "study_area",
    "tables_csv_zip",
    "tables_xlsx",
    "tier_label",
    "value_text",
    "what_if",
    "whatif_layers",
]
