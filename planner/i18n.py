"""Chinese and English text of the Streamlit app (``app.py``).

>>> from planner.i18n import Translator, detect_language
>>> Translator("zh")("title")
'基层医疗15分钟服务圈规划'
>>> detect_language(None, "zh-CN,zh;q=0.9,en;q=0.8")
'zh'
"""

from __future__ import annotations

import re

LANGUAGES = ("zh", "en")

#: Every UI string, ``{key: {"zh": ..., "en": ...}}``; ``{name}`` fields are filled by
#: :class:`Translator` from keyword arguments.
STRINGS: dict[str, dict[str, str]] = {
    # page
    "title": {"zh": "基层医疗15分钟服务圈规划", "en": "15-minute primary care planner"},
    "subtitle": {
        "zh": "谁住在离基层医疗机构{minutes:g}分钟以外？新的站点应该建在哪里？",
        "en": "Who lives more than {minutes:g} minutes from primary health care, and where should new stations go?",
    },
    "synthetic_banner": {
        "zh": "⚠️ 示范数据：“示范县”是虚构的合成县（道路、人口、机构均为生成数据），仅用于演示，不能用于真实规划。",
        "en": "⚠️ Synthetic demo data: “示范县 Demo County” does not exist (roads, residents and clinics are "
        "generated). For demonstration only, never for real planning.",
    },
    "language": {"zh": "语言 / Language", "en": "Language / 语言"},
    # data
    "data_header": {"zh": "数据", "en": "Data"},
    "data_source": {"zh": "数据来源", "en": "Data set"},
    "source_demo": {"zh": "示范县（合成演示数据）", "en": "Demo County (synthetic)"},
    "source_upload": {"zh": "上传我的数据", "en": "Upload my files"},
    "upload_roads": {
        "zh": "道路：OSM .osm/.pbf、GeoPackage/GeoJSON 或压缩的 Shapefile (.zip)",
        "en": "Roads: OSM .osm/.pbf, GeoPackage/GeoJSON or zipped shapefile (.zip)",
    },
    "upload_facilities": {
        "zh": "医疗机构：CSV/XLSX（lon、lat 列）或 GeoJSON",
        "en": "Facilities: CSV/XLSX (lon, lat columns) or GeoJSON",
    },
    "upload_boundaries": {
        "zh": "行政区划（可选）：GeoJSON、GeoPackage 或 .zip",
        "en": "Boundaries (optional): GeoJSON, GeoPackage or .zip",
    },
    "upload_population": {
        "zh": "人口（可选）：栅格 .tif 或面/点数据",
        "en": "Population (optional): raster .tif or polygons/points",
    },
    "upload_limit": {"zh": "每个文件上限 {mb} MB", "en": "at most {mb} MB per file"},
    "facilities_crs": {"zh": "医疗机构坐标系", "en": "Facility coordinates"},
    "crs_wgs84": {"zh": "WGS-84（GPS、天地图、OSM）", "en": "WGS-84 (GPS, Tianditu, OSM)"},
    "crs_gcj02": {"zh": "GCJ-02（高德、腾讯）", "en": "GCJ-02 (Amap, Tencent)"},
    "crs_bd09": {"zh": "BD-09（百度）", "en": "BD-09 (Baidu)"},
    "use_uploads": {"zh": "使用这些文件", "en": "Use these files"},
    "need_roads_facilities": {
        "zh": "请至少上传道路和医疗机构文件。",
        "en": "Upload at least the roads and the facilities.",
    },
    "uploads_loaded": {"zh": "已载入：{name}", "en": "Loaded: {name}"},
    "data_warning": {"zh": "数据提示：{text}", "en": "Data note: {text}"},
    "no_population": {
        "zh": "没有人口数据：只显示等时圈，不计算覆盖人口。",
        "en": "No population data: isochrones only, no population figures.",
    },
    # analysis
    "travel_header": {"zh": "出行", "en": "Travel"},
    "mode": {"zh": "出行方式", "en": "Mode"},
    "mode_walk": {"zh": "步行", "en": "Walk"},
    "mode_ebike": {"zh": "电动自行车", "en": "E-bike"},
    "mode_drive": {"zh": "驾车", "en": "Drive"},
    "minutes": {"zh": "服务圈（分钟）", "en": "Service circle (minutes)"},
    "tiers": {"zh": "计入的机构级别", "en": "Facility tiers that count"},
    "tiers_empty": {"zh": "请至少选择一个机构级别。", "en": "Choose at least one facility tier."},
    "advanced": {"zh": "高级设置", "en": "Advanced"},
    "speed": {"zh": "速度（km/h）", "en": "Speed (km/h)"},
    "speed_help": {
        "zh": "驾车：无限速道路的车速；各等级道路按默认车速。",
        "en": "Drive: the speed of roads without a class speed; classes keep their defaults.",
    },
    "access_max": {"zh": "到道路的最大距离（米）", "en": "Longest walk to a road (m)"},
    "map_header": {"zh": "地图", "en": "Map"},
    # map: base maps (issue 11)
    "basemap": {"zh": "底图", "en": "Base map"},
    "basemap_help": {
        "zh": "默认不加载任何在线资源：地图自带道路和地名。在线底图需联网；高德地图为 GCJ-02 坐标，"
        "图层随之偏移显示以便对齐，分析仍使用 WGS-84。",
        "en": "Nothing is loaded from the internet by default: the map draws its own roads and "
        "place names. Online base maps need the internet; Amap is in GCJ-02, so the layers are "
        "shifted to line up with it (the analysis stays in WGS-84).",
    },
    "basemap_none": {"zh": "无（离线）", "en": "None (offline)"},
    "basemap_osm": {"zh": "OpenStreetMap（需联网）", "en": "OpenStreetMap (online)"},
    "basemap_tianditu_vec": {"zh": "天地图 矢量（需密钥）", "en": "Tianditu vector (key)"},
    "basemap_tianditu_img": {"zh": "天地图 影像（需密钥）", "en": "Tianditu imagery (key)"},
    "basemap_amap": {"zh": "高德地图（GCJ-02）", "en": "Amap / Gaode (GCJ-02)"},
    "basemap_amap_img": {"zh": "高德 影像（GCJ-02）", "en": "Amap imagery (GCJ-02)"},
    "tianditu_key": {"zh": "天地图密钥 (tk)", "en": "Tianditu key (tk)"},
    "tianditu_key_help": {
        "zh": "在 https://console.tianditu.gov.cn/ 免费申请“浏览器端”密钥。",
        "en": "A free browser key from https://console.tianditu.gov.cn/.",
    },
    "tianditu_need_key": {
        "zh": "输入天地图密钥后显示天地图底图。",
        "en": "Enter a Tianditu key to show the Tianditu base map.",
    },
    # progress
    "progress_data": {"zh": "读取数据", "en": "Reading the data"},
    "progress_network": {
        "zh": "构建路网并计算覆盖",
        "en": "Building the network and computing coverage",
    },
    "progress_bands": {"zh": "计算等时圈", "en": "Computing isochrones"},
    "progress_map": {"zh": "绘制地图", "en": "Drawing the map"},
    "progress_optimize": {"zh": "优化选址", "en": "Optimizing new sites"},
    "progress_compare": {"zh": "计算方案对比", "en": "Computing the comparison"},
    "done_in": {"zh": "{what}：完成（{seconds:.1f} 秒）", "en": "{what}: done in {seconds:.1f} s"},
    # headline
    "headline": {"zh": "主要指标", "en": "Headline"},
    "share_inside": {"zh": "{minutes:g}分钟内居民占比", "en": "Residents within {minutes:g} min"},
    "covered": {"zh": "已覆盖居民", "en": "Residents covered"},
    "uncovered": {"zh": "未覆盖居民", "en": "Residents not covered"},
    "facilities_count": {"zh": "计入的机构", "en": "Facilities counted"},
    # the what-if headline: new stations, and closed, moved or re-tiered facilities (signed)
    "with_proposals": {"zh": "调整后覆盖率", "en": "Covered with the changes"},
    "newly_covered": {"zh": "覆盖居民变化", "en": "Change in residents covered"},
    "group_shares": {
        "zh": "{minutes:g}分钟内各人群覆盖率：{shares}",
        "en": "Within {minutes:g} min by population group: {shares}",
    },
    "group_65plus": {"zh": "65岁及以上", "en": "aged 65+"},
    "group_60plus": {"zh": "60岁及以上", "en": "aged 60+"},
    "group_under5": {"zh": "5岁以下", "en": "under 5"},
    "group_all": {"zh": "全部居民", "en": "all residents"},
    "opt_weight": {"zh": "优化对象人群", "en": "Optimise for"},
    "unreachable_note": {
        "zh": "其中 {pop:,.0f} 人距离道路超过 {m:g} 米。",
        "en": "{pop:,.0f} of them live more than {m:g} m from any road.",
    },
    # what-if
    "whatif_header": {"zh": "建议新站点（假设分析）", "en": "Proposed stations (what-if)"},
    "whatif_help": {
        "zh": "点击地图即可在该处添加一个建议站点。",
        "en": "Click the map to drop a proposed station there.",
    },
    "click_adds": {"zh": "点击添加站点", "en": "Click adds a station"},
    "new_tier": {"zh": "新站点级别", "en": "Tier of a new station"},
    "add_by_coords": {"zh": "按坐标添加", "en": "Add by coordinates"},
    "lon": {"zh": "经度（WGS-84）", "en": "Longitude (WGS-84)"},
    "lat": {"zh": "纬度（WGS-84）", "en": "Latitude (WGS-84)"},
    "add_site": {"zh": "添加站点", "en": "Add station"},
    "remove": {"zh": "删除", "en": "Remove"},
    "remove_all": {"zh": "全部删除", "en": "Remove all"},
    "no_proposals": {"zh": "还没有建议站点。", "en": "No proposed stations yet."},
    "site_added": {
        "zh": "已添加 {site}（{tier}），新增覆盖 {pop:,.0f} 人",
        "en": "Added {site} ({tier}): {pop:,.0f} more residents covered",
    },
    "site_outside": {
        "zh": "该位置不在研究区域内，未添加。",
        "en": "That point is outside the study area; nothing added.",
    },
    "site_row": {
        "zh": "{site} · {tier} · {place} · 新增 {pop:,.0f} 人",
        "en": "{site} · {tier} · {place} · +{pop:,.0f} residents",
    },
    "whatif_timing": {"zh": "假设分析用时 {ms:.0f} 毫秒", "en": "what-if computed in {ms:.0f} ms"},
    "whatif_details": {"zh": "假设分析详情", "en": "What-if details"},
    "per_site": {"zh": "各站点", "en": "Per site"},
    "per_admin": {"zh": "新增覆盖（按行政区）", "en": "Newly covered, per admin unit"},
    "nearest_changes": {
        "zh": "最近机构发生变化的居民",
        "en": "Residents whose nearest facility changes",
    },
    "loads": {"zh": "各机构服务人口变化", "en": "Residents per facility, before and after"},
    "needs_population": {
        "zh": "假设分析需要人口数据。",
        "en": "The what-if needs population data.",
    },
    # tables / tabs
    "tab_coverage": {"zh": "按乡镇/街道", "en": "Per township"},
    "tab_standards": {"zh": "标准对照", "en": "Standards"},
    "tab_whatif": {"zh": "假设分析", "en": "What-if"},
    "tab_optimize": {"zh": "优化选址", "en": "Optimizer"},
    "tab_scenarios": {"zh": "方案", "en": "Scenarios"},
    "tab_export": {"zh": "导出", "en": "Export"},
    "col_unit": {"zh": "行政区", "en": "Unit"},
    "col_kind": {"zh": "类型", "en": "Kind"},
    "col_population": {"zh": "人口", "en": "Population"},
    "col_covered": {"zh": "已覆盖", "en": "Covered"},
    "col_uncovered": {"zh": "未覆盖", "en": "Not covered"},
    "col_share": {"zh": "覆盖率", "en": "Share covered"},
    "col_share_after": {"zh": "建议后覆盖率", "en": "Share with proposals"},
    "col_newly": {"zh": "新增覆盖", "en": "Newly covered"},
    "col_mean_minutes": {"zh": "平均时间（分钟）", "en": "Mean minutes"},
    "col_rule": {"zh": "规则", "en": "Rule"},
    "col_requirement": {"zh": "要求", "en": "Requirement"},
    "col_units": {"zh": "单元数", "en": "Units"},
    "col_met": {"zh": "达标", "en": "Met"},
    "col_shared": {"zh": "共享", "en": "Shared"},
    "col_missing": {"zh": "缺失", "en": "Missing"},
    "col_compliance": {"zh": "达标率", "en": "Compliance"},
    "col_figure": {"zh": "全县数值", "en": "County figure"},
    "col_source": {"zh": "依据", "en": "Source"},
    "col_count": {"zh": "机构数", "en": "Facilities"},
    "col_value": {"zh": "数值", "en": "Value"},
    "col_status": {"zh": "状态", "en": "Status"},
    "col_before": {"zh": "之前", "en": "Before"},
    "col_after": {"zh": "之后", "en": "After"},
    "col_change": {"zh": "变化", "en": "Change"},
    "col_site": {"zh": "站点", "en": "Site"},
    "col_tier": {"zh": "级别", "en": "Tier"},
    "col_township": {"zh": "乡镇/街道", "en": "Township"},
    "col_village": {"zh": "村/社区", "en": "Village"},
    "col_catchment": {"zh": "最近机构变为该站的居民", "en": "Residents for whom it is nearest"},
    "col_overlap": {"zh": "已被覆盖的重叠居民", "en": "Already covered within reach"},
    "col_old_facility": {"zh": "原最近机构", "en": "Old nearest facility"},
    "col_new_site": {"zh": "新最近站点", "en": "New nearest site"},
    "col_old_minutes": {"zh": "原时间（分钟）", "en": "Minutes before"},
    "col_new_minutes": {"zh": "新时间（分钟）", "en": "Minutes after"},
    "col_level": {"zh": "级别", "en": "Level"},
    "status_met": {"zh": "✅ 达标", "en": "✅ met"},
    "status_shared": {"zh": "↔️ 共享", "en": "↔️ shared"},
    "status_missing": {"zh": "❌ 缺失", "en": "❌ missing"},
    "status_info": {"zh": "ℹ️", "en": "ℹ️"},
    "level_county": {"zh": "县", "en": "county"},
    "level_township": {"zh": "乡镇/街道", "en": "township"},
    "level_village": {"zh": "村/社区", "en": "village"},
    "kind_subdistrict": {"zh": "街道", "en": "subdistrict"},
    "kind_town": {"zh": "镇", "en": "town"},
    "kind_township": {"zh": "乡", "en": "township"},
    "kind_community": {"zh": "社区", "en": "community"},
    "kind_village": {"zh": "村", "en": "village"},
    "kind_county": {"zh": "县", "en": "county"},
    "coverage_table_caption": {
        "zh": "各乡镇/街道{minutes:g}分钟内的居民占比。",
        "en": "Share of residents within {minutes:g} minutes, per township/subdistrict.",
    },
    "standards_caption": {
        "zh": "依据《基层医疗卫生服务体系》地方规划（开封、青岛、保定、郑州二七区）；规则1按{minutes:g}分钟计算（标准值）。机构按所在位置计入行政区。",
        "en": "Rules from municipal primary-care plans (Kaifeng, Qingdao, Baoding, Zhengzhou Erqi); rule 1 uses "
        "{minutes:g} minutes (the standard's value). Facilities count for the unit they lie in.",
    },
    "standards_detail": {"zh": "各单元明细", "en": "Per unit"},
    "standards_rule_pick": {"zh": "规则", "en": "Rule"},
    "standards_change": {"zh": "建议站点带来的变化", "en": "What the proposed sites change"},
    "units_changed": {"zh": "状态变化的单元", "en": "Units that change"},
    "no_boundaries": {
        "zh": "没有行政区划数据，无法按单元对照标准。",
        "en": "No boundaries: the standards cannot be checked per unit.",
    },
    # optimizer
    "opt_header": {"zh": "优化选址", "en": "Optimize new sites"},
    "objective": {"zh": "目标", "en": "Objective"},
    "obj_max-coverage": {
        "zh": "最大覆盖（给定站点数或预算）",
        "en": "Max coverage (given p sites or a budget)",
    },
    "obj_min-sites": {
        "zh": "最少站点（达到覆盖目标）",
        "en": "Fewest sites (reach a coverage target)",
    },
    "obj_min-time": {"zh": "平均时间最短（p-中位）", "en": "Least mean time (p-median)"},
    "obj_min-max-time": {"zh": "最长时间最短（p-中心）", "en": "Least worst time (p-center)"},
    "constraint": {"zh": "约束", "en": "Limit by"},
    "by_p": {"zh": "站点数 p", "en": "Number of sites p"},
    "by_budget": {"zh": "预算", "en": "Budget"},
    "new_sites": {"zh": "新站点数 p", "en": "New sites p"},
    "budget": {"zh": "预算（费用单位）", "en": "Budget (cost units)"},
    "cost_column": {"zh": "费用字段（候选点文件）", "en": "Cost column (candidates file)"},
    "cost_each_one": {"zh": "每个站点费用为 1", "en": "each site costs 1"},
    "target_share": {"zh": "覆盖目标（居民占比）", "en": "Coverage target (share of residents)"},
    "opt_tier": {"zh": "新站点级别", "en": "Tier of the new sites"},
    "candidates": {"zh": "候选点", "en": "Candidate sites"},
    "cand_uncovered": {"zh": "未覆盖居民附近的路口", "en": "Junctions near uncovered residents"},
    "cand_villages": {"zh": "各村/社区中心", "en": "Village and community centres"},
    "cand_file": {"zh": "候选房源文件", "en": "Premises file"},
    "cand_nodes": {"zh": "所有路口（抽稀）", "en": "All junctions (thinned)"},
    "cand_upload": {
        "zh": "候选房源（CSV/XLSX/GeoJSON，lon、lat）",
        "en": "Premises (CSV/XLSX/GeoJSON with lon, lat)",
    },
    "cand_demo_file": {
        "zh": "使用示范县闲置房源：{name}",
        "en": "Using the demo county's vacant premises: {name}",
    },
    "cand_need_file": {"zh": "请上传候选房源文件。", "en": "Upload a premises file."},
    "spacing": {"zh": "候选点间距（米）", "en": "Candidate spacing (m)"},
    "time_limit": {"zh": "求解时间上限（秒）", "en": "Solver time limit (s)"},
    "run_optimizer": {"zh": "开始优化", "en": "Run the optimizer"},
    "opt_result": {"zh": "优化结果", "en": "Optimizer result"},
    "opt_objective_value": {"zh": "目标值", "en": "Objective"},
    "opt_bound": {"zh": "最优界", "en": "Bound"},
    "opt_gap": {"zh": "与最优的差距", "en": "Gap to the best possible"},
    "opt_status": {"zh": "求解状态", "en": "Status"},
    # the optimizer's status (planner.optimize.Solution.status) in a headline number; the
    # longer wording of exports is OUTPUT_VALUES (shown as the metric's help)
    "opt_st_optimal": {"zh": "最优", "en": "optimal"},
    "opt_st_near_optimal": {"zh": "近似最优", "en": "near-optimal"},
    "opt_st_time_limit": {"zh": "达到时限", "en": "time limit"},
    "opt_st_feasible": {"zh": "可行解", "en": "feasible"},
    "opt_st_infeasible": {"zh": "无可行解", "en": "infeasible"},
    "opt_solver": {"zh": "求解器", "en": "Solver"},
    "opt_seconds": {"zh": "用时（秒）", "en": "Seconds"},
    "opt_covered_after": {"zh": "优化后覆盖居民", "en": "Residents covered after"},
    "opt_sites": {"zh": "选出的站点", "en": "Sites chosen"},
    "opt_adopt": {"zh": "加入建议站点", "en": "Add to the proposed stations"},
    "opt_clear": {"zh": "清除优化结果", "en": "Clear the optimizer result"},
    "opt_uncoverable": {
        "zh": "{pop:,.0f} 名居民（{units:,} 个人口点）在{minutes:g}分钟内没有任何候选站点可达，另有 {far:,.0f} 名居民离道路过远：无论怎样选址都覆盖不到他们。可增加他们附近的候选点，或放宽时间。",
        "en": "{pop:,.0f} residents ({units:,} demand points) have no candidate site within {minutes:g} min and {far:,.0f} live too far from any road: no choice of sites covers them. Add candidates near them, or allow more minutes.",
    },
    "opt_gap_note": {
        "zh": "差距 = |最优界 − 目标值| / max(|最优界|, |目标值|)：答案离理论最优最多差这么多。",
        "en": "Gap = |bound − objective| / max(|bound|, |objective|): the answer is at most this far from the best possible.",
    },
    "opt_units_residents": {"zh": "新增覆盖居民（人）", "en": "residents newly covered"},
    "opt_units_sites": {"zh": "新站点数（个，或总费用）", "en": "new sites (or their total cost)"},
    "opt_units_minutes": {
        "zh": "分钟（居民平均出行时间）",
        "en": "minutes, residents' mean travel time",
    },
    "opt_units_worst": {"zh": "分钟（最长出行时间）", "en": "minutes, the longest travel time"},
    "opt_stale": {
        "zh": "设置已改变，结果对应之前的设置。",
        "en": "Settings changed since this result was computed.",
    },
    # scenarios
    "scn_header": {"zh": "方案", "en": "Scenarios"},
    "scn_name": {"zh": "方案名称", "en": "Scenario name"},
    "scn_save": {"zh": "保存方案", "en": "Save scenario"},
    "scn_saved": {"zh": "已保存：{path}", "en": "Saved: {path}"},
    "scn_saved_list": {"zh": "已保存的方案", "en": "Saved scenarios"},
    "scn_load": {"zh": "载入", "en": "Load"},
    "scn_delete": {"zh": "删除", "en": "Delete"},
    "scn_loaded": {"zh": "已载入方案：{name}", "en": "Loaded scenario: {name}"},
    "scn_deleted": {"zh": "已删除方案：{name}", "en": "Deleted scenario: {name}"},
    "scn_none": {"zh": "还没有保存的方案。", "en": "No saved scenarios yet."},
    "scn_folder": {
        "zh": "方案保存在 {path}（可用环境变量 PLANNER_SCENARIO_DIR 修改）。",
        "en": "Scenarios are kept in {path} (set PLANNER_SCENARIO_DIR to change).",
    },
    "scn_compare": {"zh": "对比方案", "en": "Compare scenarios"},
    "scn_current": {"zh": "（当前）", "en": "(current)"},
    "scn_compare_maps": {"zh": "并排显示地图", "en": "Show maps side by side"},
    "cmp_name": {"zh": "方案", "en": "Scenario"},
    "cmp_data": {"zh": "数据", "en": "Data"},
    "cmp_mode": {"zh": "出行方式", "en": "Mode"},
    "cmp_minutes": {"zh": "分钟", "en": "Minutes"},
    "cmp_tiers": {"zh": "机构级别", "en": "Tiers"},
    "cmp_proposed_sites": {"zh": "建议站点数", "en": "Proposed sites"},
    "cmp_population": {"zh": "人口", "en": "Population"},
    "cmp_covered_before": {"zh": "现状覆盖", "en": "Covered now"},
    "cmp_newly_covered": {"zh": "新增覆盖", "en": "Newly covered"},
    "cmp_covered_after": {"zh": "建议后覆盖", "en": "Covered with proposals"},
    "cmp_covered_share_after": {"zh": "建议后覆盖率", "en": "Share with proposals"},
    # export
    "exp_header": {"zh": "导出当前方案", "en": "Export the current scenario"},
    "exp_gpkg": {"zh": "GeoPackage（图层与表格）", "en": "GeoPackage (layers and tables)"},
    "exp_xlsx": {"zh": "Excel 表格", "en": "Excel tables"},
    "exp_csv": {"zh": "CSV 表格（zip）", "en": "CSV tables (zip)"},
    "exp_html": {
        "zh": "HTML 报告（含地图，可离线打开）",
        "en": "HTML report with the map (works offline)",
    },
    "exp_note": {"zh": "文件在点击时生成。", "en": "Files are made when you click."},
    "report_title": {
        "zh": "{name}：{minutes:g}分钟医疗服务圈",
        "en": "{name}: {minutes:g}-minute medical service circle",
    },
    # uploads: coordinate systems and column mapping (issue 11, planner/app/uploads*.py)
    "upl_settings": {"zh": "{file}：坐标系与列", "en": "{file}: coordinates and columns"},
    "crs_choice": {"zh": "坐标系", "en": "Coordinate system"},
    "crs_file": {"zh": "文件自带：{crs}", "en": "The file's own: {crs}"},
    "crs_file_none": {"zh": "文件自带（未找到）", "en": "The file's own (none found)"},
    "crs_file_table": {
        "zh": "经纬度（WGS-84，列名注明高德/百度时转换）",
        "en": "Lon/lat (WGS-84; converted when the column names say Amap/Baidu)",
    },
    "crs_epsg": {"zh": "EPSG 代码…", "en": "EPSG code…"},
    "crs_epsg_code": {"zh": "EPSG 代码（如 4547、3857）", "en": "EPSG code (e.g. 4547, 3857)"},
    "crs_custom": {"zh": "{name}（自定义投影）", "en": "{name} (custom projection)"},
    "crs_found_prj": {
        "zh": "在 .prj 文件中找到坐标系：{crs}",
        "en": "Coordinate system found in the .prj: {crs}",
    },
    "crs_found_gpkg": {"zh": "文件中的坐标系：{crs}", "en": "Coordinate system in the file: {crs}"},
    "crs_found_geojson": {
        "zh": "GeoJSON 的 crs 成员：{crs}",
        "en": "The GeoJSON's crs member: {crs}",
    },
    "crs_found_geojson_default": {
        "zh": "GeoJSON 未声明坐标系：按标准视为 WGS-84 经纬度。",
        "en": "The GeoJSON names no coordinate system: WGS-84 lon/lat, as the standard says.",
    },
    "crs_found_raster": {
        "zh": "栅格的坐标系：{crs}",
        "en": "The raster's coordinate system: {crs}",
    },
    "crs_found_osm": {"zh": "OpenStreetMap 数据：WGS-84。", "en": "OpenStreetMap data: WGS-84."},
    "crs_found_table": {
        "zh": "表格中的经纬度默认按 WGS-84 读取；列名写明高德、百度（如“高德经度”）时自动转换。",
        "en": "Lon/lat in a table are read as WGS-84; columns named after Amap or Baidu (e.g. gcj02_lon) are converted.",
    },
    "crs_found_none": {
        "zh": "文件没有坐标系（缺少 .prj）：请选择文件制作时使用的坐标系。",
        "en": "The file has no coordinate system (no .prj): choose the one it was made in.",
    },
    "looks_web_map": {
        "zh": "“{where}”表明这是 {system} 坐标，但文件标为普通经纬度：按 WGS-84 读取会偏离约 500 米。",
        "en": "“{where}” says these are {system} coordinates, but the file is labelled as plain lon/lat: read as WGS-84 they would be about 500 m off.",
    },
    "convert_web_map": {"zh": "按 {system} 转换", "en": "Convert from {system}"},
    "converted_web_map": {
        "zh": "将按 {system} 转换为 WGS-84。",
        "en": "Will be converted from {system} to WGS-84.",
    },
    "points_look_gcj02": {
        "zh": "“{file}”的点看起来是 GCJ-02（高德、腾讯）坐标：按 GCJ-02 转换后，离最近道路的中位距离从 {as_is:,.0f} 米降到 {undone:,.0f} 米。",
        "en": "The points of “{file}” look like GCJ-02 (Amap, Tencent) coordinates: converted from GCJ-02, their median distance to the nearest road falls from {as_is:,.0f} m to {undone:,.0f} m.",
    },
    "crs_bad_epsg": {
        "zh": "“{code}”不是有效的 EPSG 代码。请输入坐标系编号，例如 4547（CGCS2000 3 度带 114°E）或 3857（Web 墨卡托）。",
        "en": "“{code}” is not a valid EPSG code. Type the number of the coordinate system, e.g. 4547 (CGCS2000 3-degree zone 114°E) or 3857 (Web Mercator).",
    },
    "crs_bad_choice": {
        "zh": "未知的坐标系选项“{choice}”。",
        "en": "Unknown coordinate-system choice “{choice}”.",
    },
    "upload_unreadable": {
        "zh": "无法读取“{file}”。请确认文件类型正确（可在 QGIS 或 Excel 中打开后重新保存）。",
        "en": "“{file}” cannot be read. Check that it is the right kind of file (open it in QGIS or Excel and save it again).",
    },
    "upload_unknown_kind": {
        "zh": "未知的上传类型“{kind}”。",
        "en": "Unknown kind of upload “{kind}”.",
    },
    "upl_err_crs": {
        "zh": "“{file}”的坐标不对：请在它的“坐标系与列”中选择文件制作时使用的坐标系（WGS-84、高德 GCJ-02、百度 BD-09 或 EPSG 代码），或检查经纬度是否写反。",
        "en": "The coordinates of “{file}” do not fit: in its “coordinates and columns”, choose the coordinate system it was made in (WGS-84, Amap GCJ-02, Baidu BD-09 or an EPSG code), or check that lon and lat are not swapped.",
    },
    "upl_err_input": {
        "zh": "“{file}”无法使用：请在它的“坐标系与列”中选择正确的列，或按下面的说明修改文件。",
        "en": "“{file}” cannot be used: choose the right columns in its “coordinates and columns”, or correct the file as described below.",
    },
    "upl_err_detail": {"zh": "详情（英文）：{detail}", "en": "Details: {detail}"},
    "map_columns": {"zh": "列对应", "en": "Columns"},
    "map_columns_missing": {
        "zh": "未能识别这些列：{fields}。请从文件的列中选择。",
        "en": "These columns were not recognised: {fields}. Choose them from the file's columns.",
    },
    "map_columns_ok": {
        "zh": "已识别的列（可修改）：",
        "en": "Columns recognised (you may change them):",
    },
    "map_columns_optional_direction": {
        "zh": "未识别单行方向列：若不选择，所有道路都按双向通行计算。",
        "en": "No one-way column recognised: unless you choose one, every road is two-way.",
    },
    "map_columns_optional_name": {
        "zh": "未识别名称列：若不选择，机构只显示编号，层级只按类型判断。",
        "en": "No name column recognised: unless you choose one, facilities show only their ids and their tiers come from their type alone.",
    },
    "preview_rows": {"zh": "前 {n} 行", "en": "First {n} rows"},
    "col_none": {"zh": "（无）", "en": "(none)"},
    "field_lon": {"zh": "经度 / X", "en": "Longitude / x"},
    "field_lat": {"zh": "纬度 / Y", "en": "Latitude / y"},
    "field_name": {"zh": "名称", "en": "Name"},
    "field_type": {"zh": "机构类型", "en": "Facility type"},
    "field_tier": {"zh": "机构层级（已是层级名）", "en": "Tier (values are tier names)"},
    "field_class": {"zh": "道路等级", "en": "Road class"},
    "field_direction": {"zh": "单行方向", "en": "One-way"},
    "field_speed": {"zh": "限速（km/h）", "en": "Speed limit (km/h)"},
    "field_code": {"zh": "行政区划代码", "en": "Administrative code"},
    "field_level": {"zh": "级别", "en": "Level"},
    "field_population": {"zh": "人口", "en": "Population"},
    "direction_codes": {"zh": "单行代码“{value}”的含义", "en": "One-way code “{value}” means"},
    "dir_auto": {
        "zh": "默认（0、3 双向；1、2、yes、F 顺向；-1、T 逆向）",
        "en": "default (0, 3 both ways; 1, 2, yes, F along; -1, T against)",
    },
    "dir_both": {"zh": "双向通行", "en": "both ways"},
    "dir_along": {"zh": "单行（沿绘制方向）", "en": "one-way along the line"},
    "dir_against": {"zh": "单行（逆绘制方向）", "en": "one-way against the line"},
    "need_columns": {
        "zh": "请先在“{file}”的“列对应”中选择：{fields}。",
        "en": "First choose in the columns of “{file}”: {fields}.",
    },
    "typed_crs": {"zh": "坐标系", "en": "Coordinate system"},
    "upl_counts": {
        "zh": "已读取：医疗机构 {facilities:,} 个，道路 {roads:,} 段。",
        "en": "Read: {facilities:,} facilities, {roads:,} road segments.",
    },
    "upl_failed_load": {
        "zh": "这些文件无法一起使用（{files}）：请检查每个文件的坐标系，并确认它们属于同一地区。",
        "en": "These files cannot be used together ({files}): check each file's coordinate system, and that they cover the same area.",
    },
    "typed_lon": {"zh": "经度", "en": "Longitude"},
    "typed_lat": {"zh": "纬度", "en": "Latitude"},
    # what-if of the existing facilities, study area, map redraw, printed map (issue 11,
    # planner/app/edits.py, area.py, edit_layers.py)
    "uncovered_after": {"zh": "调整后未覆盖居民", "en": "Uncovered after the changes"},
    "facilities_after": {"zh": "调整后机构数", "en": "Facilities after the changes"},
    "area_counting": {
        "zh": "只统计研究范围内的居民（{units} 个行政单元，边界 {corners} 个顶点）",
        "en": "Counting residents inside the study area only ({units} units, boundary of {corners} corners)",
    },
    "click_does": {"zh": "点击地图", "en": "A click on the map"},
    "click_add": {"zh": "添加站点", "en": "adds a station"},
    "click_pick": {"zh": "选择机构", "en": "picks a facility"},
    "click_move": {"zh": "移动到此", "en": "moves the picked facility there"},
    "click_vertex": {"zh": "研究范围顶点", "en": "adds a study-area corner"},
    "fac_header": {
        "zh": "现有机构：关闭、移动、改变级别",
        "en": "Existing facilities: close, move, change tier",
    },
    "fac_pick": {"zh": "机构（可输入名称搜索）", "en": "Facility (type to search)"},
    "fac_none": {"zh": "（未选择）", "en": "(none)"},
    "fac_pick_help": {
        "zh": "在列表中搜索，或选“点击地图：选择机构”后点击地图上的机构。",
        "en": "Search the list, or choose “A click on the map: picks a facility” and click it on the map.",
    },
    "fac_close": {"zh": "关闭", "en": "Close"},
    "fac_move": {"zh": "移动", "en": "Move"},
    "fac_move_help": {"zh": "在地图上点击新位置。", "en": "Click the new position on the map."},
    "fac_tier": {"zh": "新级别", "en": "New tier"},
    "fac_retier": {"zh": "改变级别", "en": "Change tier"},
    "edit_close": {"zh": "已关闭：{name}", "en": "Closed: {name}"},
    "edit_move": {"zh": "已移动：{name} → {detail}", "en": "Moved: {name} → {detail}"},
    "edit_tier": {"zh": "改变级别：{name} → {detail}", "en": "Tier changed: {name} → {detail}"},
    "fac_undo": {"zh": "撤销", "en": "Undo"},
    "fac_undo_all": {"zh": "撤销全部机构调整", "en": "Undo every facility change"},
    "fac_not_near": {
        "zh": "点击处 500 米内没有机构。请点击机构标记，或在列表中选择。",
        "en": "No facility within 500 m of the click. Click a facility's marker, or pick it in the list.",
    },
    "fac_moved": {"zh": "已移动机构 {fid}。", "en": "Facility {fid} moved."},
    "fac_pick_first": {
        "zh": "请先选择要移动的机构。",
        "en": "First pick the facility to move.",
    },
    "area_header": {"zh": "研究范围", "en": "Study area"},
    "area_units": {
        "zh": "行政单元（乡镇/街道、村/社区）",
        "en": "Admin units (townships, villages)",
    },
    "area_draw_help": {
        "zh": "或选“点击地图：研究范围顶点”，依次点击边界顶点（已点 {n} 个），然后“使用边界”。",
        "en": "Or choose “A click on the map: adds a study-area corner”, click the corners in order ({n} so far), then “Use boundary”.",
    },
    "area_draw_tool": {
        "zh": "用地图左侧的多边形或矩形工具画出研究范围，画完即生效。",
        "en": "Draw the study area with the polygon or rectangle tool on the left of the map: it applies when finished.",
    },
    "area_drawn": {
        "zh": "研究范围已设为所画的边界（{n} 个顶点）。",
        "en": "The study area is now the boundary drawn ({n} corners).",
    },
    "area_use": {"zh": "使用边界", "en": "Use boundary"},
    "area_clear": {"zh": "清除边界", "en": "Clear boundary"},
    "map_stale": {
        "zh": "地图仍显示 {mode} {minutes:g} 分钟的等时圈；数字已更新。",
        "en": "The map still shows the {minutes:g}-minute {mode} isochrones; the numbers are up to date.",
    },
    "map_redraw": {"zh": "更新地图", "en": "Redraw map"},
    "exp_map": {"zh": "导出地图", "en": "Export map"},
    "exp_map_format": {"zh": "地图格式", "en": "Map format"},
    "exp_map_paper": {"zh": "纸张", "en": "Paper"},
    # errors
    "error_generic": {
        "zh": "出现意外错误，应用仍可继续使用。请检查输入，或把下面的详情发给维护者。",
        "en": "Something unexpected went wrong; the app keeps running. Check the inputs, or send the details below to the maintainers.",
    },
    "error_details": {"zh": "错误详情", "en": "Details"},
    "error_where": {"zh": "{what}失败：{message}", "en": "{what} failed: {message}"},
}


class Translator:
    """``T(key, **fields)``: the text of ``key`` in one language (English if a key has no
    text in that language, the key itself if it is unknown).

    Examples
    --------
    >>> T = Translator("en")
    >>> T("share_inside", minutes=15)
    'Residents within 15 min'
    """

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else "en"

    def __call__(self, key: str, **fields: object) -> str:
        entry = STRINGS.get(key)
        if entry is None:
            return key
        text = entry.get(self.lang) or entry["en"]
        return text.format(**fields) if fields else text


def _tags(accept_language: str) -> list[str]:
    """Language tags of an Accept-Language header, most preferred first."""
    out = []
    for i, part in enumerate(accept_language.split(",")):
        bits = part.strip().split(";")
        tag = bits[0].strip()
        if not tag or tag == "*":
            continue
        q = 1.0
        for b in bits[1:]:
            m = re.fullmatch(r"\s*q\s*=\s*([0-9.]+)\s*", b)
            if m:
                try:
                    q = float(m.group(1))
                except ValueError:
                    q = 0.0
        out.append((-q, i, tag))
    return [t for _, _, t in sorted(out)]


def detect_language(locale: str | None, accept_language: str | None = None) -> str:
    """``"zh"`` when the browser asks for Chinese first, else ``"en"``.

    ``locale`` is the browser's language (``st.context.locale``, e.g. ``"zh-CN"``); without it the
    ``Accept-Language`` header decides (the most preferred of Chinese or English).

    Examples
    --------
    >>> detect_language("zh-TW")
    'zh'
    >>> detect_language("en-US", "zh-CN")
    'en'
    >>> detect_language(None, "fr-FR,en;q=0.8,zh;q=0.5")
    'en'
    """
    if locale:
        return "zh" if locale.strip().lower().startswith("zh") else "en"
    for tag in _tags(accept_language or ""):
        low = tag.lower()
        if low.startswith("zh"):
            return "zh"
        if low.startswith("en"):
            return "en"
    return "en"


# ---------------------------------------------------------------------------------------------
# Outputs read by people: column headers, sheet names and the HTML report's text
# (issue 11; used by planner/report.py, planner/app/exports.py and planner/printmap.py)
# ---------------------------------------------------------------------------------------------

#: Kinds of column and their unit in a header, ``{kind: (zh, en)}`` ("" for no unit).
OUTPUT_UNITS: dict[str, tuple[str, str]] = {
    "people": ("人", "persons"),
    "share": ("%", "%"),
    "minutes": ("分钟", "min"),
    "km2": ("km²", "km²"),
    "m": ("米", "m"),
    "m2": ("m²", "m²"),
    "count": ("个", ""),
    "coord": ("度", "degrees"),
    "seconds": ("秒", "s"),
    "number": ("", ""),
    "text": ("", ""),
}

#: Column headers of the exported tables, ``{column: (zh, en, kind)}``; the unit of ``kind`` is
#: added to the header. Columns not listed keep their name (their kind is guessed from it).
OUTPUT_COLUMNS: dict[str, tuple[str, str, str]] = {
    "admin_code": ("行政区划代码", "Admin code", "text"),
    "admin_name": ("名称", "Name", "text"),
    "level": ("级别", "Level", "text"),
    "kind": ("类型", "Kind", "text"),
    "parent_code": ("上级代码", "Parent code", "text"),
    "population": ("人口", "Residents", "people"),
    "covered_population": ("覆盖人口", "Covered residents", "people"),
    "uncovered_population": ("未覆盖人口", "Uncovered residents", "people"),
    "covered_share": ("覆盖率", "Covered share", "share"),
    "no_facility_in_piece_population": (
        "所在路网片段无机构的人口",
        "Residents on road pieces without a facility",
        "people",
    ),
    "mean_minutes": ("平均时间", "Mean time", "minutes"),
    "max_minutes": ("最长时间", "Longest time", "minutes"),
    "rule": ("条款", "Rule", "text"),
    "rule_name": ("条款名称", "Rule name", "text"),
    "requirement": ("要求", "Requirement", "text"),
    "units": ("单元数", "Units", "count"),
    "met": ("达标", "Met", "count"),
    "shared": ("共用", "Shared", "count"),
    "missing": ("缺少", "Missing", "count"),
    "share_met": ("达标比例", "Share met", "share"),
    "figure": ("指标值", "Figure", "number"),
    "source": ("依据", "Source", "text"),
    "value": ("数值", "Value", "number"),
    "count": ("数量", "Count", "count"),
    "required": ("要求数量", "Required", "count"),
    "status": ("状态", "Status", "text"),
    "site_id": ("站点编号", "Site", "text"),
    "lon": ("经度", "Longitude", "coord"),
    "lat": ("纬度", "Latitude", "coord"),
    "tier": ("机构级别", "Tier", "text"),
    "newly_covered_population": ("新增覆盖人口", "Newly covered residents", "people"),
    "catchment_population": ("服务范围人口", "Residents in reach", "people"),
    "overlap_population": ("已被覆盖的人口", "Residents already covered", "people"),
    "township": ("乡镇", "Township", "text"),
    "village": ("村", "Village", "text"),
    "township_code": ("乡镇代码", "Township code", "text"),
    "township_name": ("乡镇", "Township", "text"),
    "village_code": ("村代码", "Village code", "text"),
    "village_name": ("村", "Village", "text"),
    "covered_before": ("原覆盖人口", "Covered before", "people"),
    "covered_share_before": ("原覆盖率", "Share before", "share"),
    "covered_share_after": ("新覆盖率", "Share after", "share"),
    "old_facility": ("原最近机构", "Old nearest facility", "text"),
    "old_name": ("原机构名称", "Old facility name", "text"),
    "new_site": ("新站点", "New site", "text"),
    "old_minutes": ("原时间", "Time before", "minutes"),
    "new_minutes": ("新时间", "Time after", "minutes"),
    "met_before": ("原达标数", "Met before", "count"),
    "met_after": ("新达标数", "Met after", "count"),
    "missing_before": ("原缺少数", "Missing before", "count"),
    "missing_after": ("新缺少数", "Missing after", "count"),
    "figure_before": ("原指标值", "Figure before", "number"),
    "figure_after": ("新指标值", "Figure after", "number"),
    "met_change": ("达标数变化", "Change in met", "count"),
    "figure_change": ("指标值变化", "Change in figure", "number"),
    "objective": ("目标函数值", "Objective", "number"),
    "bound": ("界", "Bound", "number"),
    "gap": ("最优性差距", "Optimality gap", "share"),
    "mip_gap": ("允许差距", "Accepted gap", "share"),
    "solver": ("求解器", "Solver", "text"),
    "seconds": ("用时", "Time", "seconds"),
    "objective_name": ("目标", "Objective name", "text"),
    "new_sites": ("新站点数", "New sites", "count"),
    "covered_population_before": ("原覆盖人口", "Covered before", "people"),
    "covered_population_after": ("建议后覆盖人口", "Covered after", "people"),
    "total_population": ("总人口", "Total residents", "people"),
    "title": ("标题", "Title", "text"),
    "text": ("条文", "Text", "text"),
    "checked": ("检查数", "Checked", "count"),
    "passed": ("达标", "Passed", "count"),
    "failed": ("未达标", "Failed", "count"),
    "not_assessed": ("未评估", "Not assessed", "count"),
    "summary": ("摘要", "Summary", "text"),
    "check": ("检查项", "Check", "text"),
    "metric": ("指标", "Metric", "text"),
    "target": ("目标值", "Target", "number"),
    "detail": ("说明", "Detail", "text"),
    "fix": ("改进办法", "Fix", "text"),
    "proposals": ("建议站点", "Proposals", "text"),
    "community_centers": ("社区卫生服务中心", "Community centres", "count"),
    "community_stations": ("社区卫生服务站", "Community stations", "count"),
    "township_centers": ("乡镇卫生院", "Township health centres", "count"),
    "village_clinics": ("村卫生室", "Village clinics", "count"),
    "hospitals": ("医院", "Hospitals", "count"),
    "own_village_clinics": ("本村卫生室", "Own village clinics", "count"),
    "rule5_status": ("第5条状态", "Rule 5 status", "text"),
    "clinics_inside": ("村内卫生室", "Clinics inside", "count"),
    "own_clinics": ("本村卫生室", "Own clinics", "count"),
    "own_clinic_ids": ("本村卫生室编号", "Own clinic ids", "text"),
    "own_clinic_outside": ("本村卫生室在村外", "Own clinic outside", "text"),
    "shared_with": ("共用卫生室", "Shared with", "text"),
    "shared_with_village": ("共用村", "Shared with village", "text"),
    "shared_share": ("共用覆盖率", "Shared share", "share"),
    "shared_minutes": ("共用时间", "Shared time", "minutes"),
    "best_other_share": ("其他最佳覆盖率", "Best other share", "share"),
    "facility_id": ("机构编号", "Facility", "text"),
    "name": ("名称", "Name", "text"),
    "nearest_residents": ("就近居民", "Nearest residents", "people"),
    "unit_residents_per_facility": ("每机构服务人口", "Residents per facility", "people"),
    "implied_staff_low": ("所需人员（下限）", "Implied staff (low)", "count"),
    "implied_staff_high": ("所需人员（上限）", "Implied staff (high)", "count"),
    "staff": ("人员", "Staff", "count"),
    "capacity_low": ("服务能力（下限）", "Capacity (low)", "people"),
    "capacity_high": ("服务能力（上限）", "Capacity (high)", "people"),
    "floor_area_m2": ("建筑面积", "Floor area", "m2"),
    "addresses": ("地址", "Addresses", "text"),
    "group": ("人群", "Group", "text"),
    "unreachable_population": ("无法到达人口", "Residents who cannot reach one", "people"),
    "p10": ("10%分位时间", "10th percentile", "minutes"),
    "p25": ("25%分位时间", "25th percentile", "minutes"),
    "p50": ("中位时间", "Median", "minutes"),
    "p75": ("75%分位时间", "75th percentile", "minutes"),
    "p90": ("90%分位时间", "90th percentile", "minutes"),
    "p95": ("95%分位时间", "95th percentile", "minutes"),
    "p99": ("99%分位时间", "99th percentile", "minutes"),
    "population_share": ("累计人口比例", "Cumulative share of residents", "share"),
    "time_share": ("累计时间比例", "Cumulative share of time", "share"),
    "unit": ("单位", "Unit", "text"),
    "note": ("备注", "Note", "text"),
    "key": ("项目", "Setting", "text"),
    "area_km2": ("面积", "Area", "km2"),
    "rank": ("排名", "Rank", "count"),
}

#: Population groups in headers, ``{group: (zh, en)}``.
OUTPUT_GROUPS: dict[str, tuple[str, str]] = {
    "65plus": ("65岁及以上", "aged 65+"),
    "under5": ("5岁以下", "under 5"),
}

#: Sheet (and CSV file) names of the exported tables, ``{name: (zh, en)}`` (Excel: <= 31 chars).
OUTPUT_SHEETS: dict[str, tuple[str, str]] = {
    "coverage": ("覆盖情况", "Coverage"),
    "standards_summary": ("标准达标汇总", "Standards summary"),
    "standards_units": ("各单元达标情况", "Standards by unit"),
    "proposed_sites": ("建议站点", "Proposed sites"),
    "newly_covered_by_unit": ("各单元新增覆盖", "Newly covered by unit"),
    "nearest_changes": ("最近机构变化", "Nearest facility changes"),
    "standards_change": ("达标变化", "Standards change"),
    "optimizer_sites": ("优化选址", "Optimizer sites"),
    "optimizer_solution": ("优化求解", "Optimizer solution"),
    "proposals": ("建议站点", "Proposals"),
    "solution": ("求解结果", "Solution"),
    "rules": ("条款", "Rules"),
    "failures": ("未达标项", "Failures"),
    "checks": ("全部检查", "All checks"),
    "villages": ("各村", "Villages"),
    "facilities": ("医疗机构", "Facilities"),
    "travel_times": ("出行时间", "Travel times"),
    "lorenz": ("洛伦兹曲线", "Lorenz curve"),
    "equity": ("公平性", "Equity"),
    "settings": ("设置", "Settings"),
}

#: Cell values shown to people, ``{value: (zh, en)}`` (levels, statuses, tiers).
OUTPUT_VALUES: dict[str, tuple[str, str]] = {
    "county": ("县", "county"),
    "township": ("乡镇", "township"),
    "village": ("村", "village"),
    "pass": ("达标", "pass"),
    "fail": ("未达标", "fail"),
    "n/a": ("未评估", "n/a"),
    "not assessed": ("未评估", "not assessed"),
    "community_center": ("社区卫生服务中心", "community centre"),
    "community_station": ("社区卫生服务站", "community station"),
    "family_doctor_point": ("家庭医生服务点", "family doctor point"),
    "township_center": ("乡镇卫生院", "township health centre"),
    "village_clinic": ("村卫生室", "village clinic"),
    "hospital": ("医院", "hospital"),
    # the optimizer's status (planner.optimize.Solution.status) and objectives
    "optimal": ("最优（已证明）", "optimal (proved)"),
    "near_optimal": ("近似最优（差距在允许范围内）", "near-optimal (within the allowed gap)"),
    "time_limit": ("达到求解时间上限", "time limit reached"),
    "feasible": ("可行解（未证明最优）", "feasible (not proved optimal)"),
    "infeasible": ("无可行解", "infeasible"),
    "max-coverage": ("覆盖人口最多", "most residents covered"),
    "min-sites": ("站点最少", "fewest sites"),
    "min-time": ("平均时间最短", "least mean travel time"),
    "min-max-time": ("最长时间最短", "least worst travel time"),
}

#: Text of the HTML report and the printed map, ``{key: (zh, en)}``.
REPORT_TEXT: dict[str, tuple[str, str]] = {
    "synthetic": (
        "示范数据：“示范县”是虚构的合成县，仅用于演示，不能用于真实规划。",
        "Synthetic demo data: 示范县 Demo County does not exist; for demonstration only.",
    ),
    "headline": ("主要数字", "Headline"),
    "map": ("地图", "Map"),
    "by_township": ("各乡镇覆盖情况", "Coverage by township"),
    "standards": ("标准达标情况", "Standards"),
    "proposals": ("建议站点", "Proposed sites"),
    "population": ("总人口", "Residents"),
    "covered": ("{minutes:g}分钟内人口", "Residents within {minutes:g} min"),
    "uncovered": ("{minutes:g}分钟外人口", "Residents beyond {minutes:g} min"),
    "share": ("覆盖率", "Covered share"),
    "facilities": ("医疗机构", "Facilities"),
    "mode": ("出行方式", "Travel mode"),
    "walk": ("步行", "walking"),
    "ebike": ("电动自行车", "e-bike"),
    "drive": ("驾车", "driving"),
    "made": ("制作：planner {version}，{date}", "Made with planner {version} on {date}"),
    "persons": ("人", "persons"),
    "compliance_title": (
        "{name}：基层医疗卫生设施配置标准达标报告",
        "Standards compliance report: {name}",
    ),
    "rules": ("标准条款", "Rules"),
    "failures": ("未达标单元", "Failing units"),
    "rule_failing": ("第{rule}条 {title}：{n} 项未达标", "Rule {rule}, {title}: {n} failing"),
    "rules_failed": ("未达标条款", "Rules not met"),
    "see_xlsx": (
        "全部检查、各村、各机构和公平性指标的明细见 compliance.xlsx。",
        "Every check, village, facility and the equity figures in detail: compliance.xlsx.",
    ),
}

#: Titles of the rules of docs/standards.md (planner.compliance), ``{rule: (zh, en)}``.
COMPLIANCE_RULE_TITLES: dict[int, tuple[str, str]] = {
    1: ("15分钟医疗服务圈", "15-minute medical service circle"),
    2: ("每个街道一个社区卫生服务中心", "a community health service center per subdistrict"),
    3: ("每个社区一个社区卫生服务站", "a community health service station per community"),
    4: ("每个乡镇一所乡镇卫生院", "a township health center per township"),
    5: ("每个行政村一个村卫生室", "a village clinic per administrative village"),
    6: ("新建住区配套医疗设施", "medical facility planned with new housing"),
    7: ("新建设施的建筑面积", "sizes of new premises"),
    8: ("人员配备比例", "staffing ratios"),
}


def output_text(key: str, lang: str, **fields: object) -> str:
    """The report text of ``key`` in ``lang`` ("zh" or "en"; "both" gives "zh / en").

    >>> output_text("covered", "zh", minutes=15)
    '15分钟内人口'
    """
    zh, en = REPORT_TEXT[key]
    text = {"zh": zh, "en": en}.get(lang, f"{zh} / {en}")
    return text.format(**fields) if fields else text
