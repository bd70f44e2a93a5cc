"""The app's page layout: CSS that makes it fit a 1366 × 768 laptop screen.

Streamlit cuts what does not fit its column with an ellipsis: the headline numbers ("386,…"),
the metric labels ("Residents not co…") and the chips of the tier list ("Community health …",
the same for the station and the center). The rules below make the numbers shrink with their
column (a CSS container query: ``cqi`` is a hundredth of the metric's width), let labels and
chips wrap, and leave less room above the title so the map is on the first screen.
The selectors are Streamlit's ``data-testid`` attributes (stable), never its generated class
names.
"""

from __future__ import annotations

#: Height of the app's map in pixels (with the title above it, it fits a 768 px high screen).
MAP_HEIGHT_PX = 520

APP_CSS = """
<style>
/* less room above the title (the header bar is 60 px), so the map starts on the first screen */
[data-testid="stMainBlockContainer"] { padding-top: 3.6rem; }
[data-testid="stMainBlockContainer"] h1 { font-size: 1.9rem; padding: 0 0 0.4rem; }
/* headline numbers shrink with their column instead of ending in "…" (Streamlit's own rules
   are more specific than an attribute selector: hence !important) */
[data-testid="stMetric"] { container-type: inline-size; }
[data-testid="stMetricValue"] { font-size: clamp(1.2rem, 19cqi, 2.25rem) !important; }
[data-testid="stMetricValue"] p {
    white-space: nowrap !important; overflow: visible !important; text-overflow: clip !important;
}
/* metric labels wrap onto a second line */
[data-testid="stMetricLabel"] p, [data-testid="stMetricLabel"] div {
    white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
}
/* the tier chips show the whole name ("community health station" / "... center") */
[data-testid="stMultiSelectTagsContainer"] [data-tag] { max-width: 100%; height: auto; }
[data-testid="stMultiSelectTagsContainer"] [data-tag] > span[title] {
    white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
    max-width: none !important; line-height: 1.3; padding: 2px 0;
}
</style>
"""
