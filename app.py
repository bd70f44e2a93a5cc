"""planner's map app: who lives more than 15 minutes from primary health care, and where new
stations should go. Run from the repository root::

    streamlit run app.py

Works with no internet (Leaflet travels with the map; no tiles by default). This file only sets
up the page; the widgets and panels are in :mod:`planner.app` (``sidebar``, ``page``,
``panels``, ``tabs``, ``optimizer_tab``, ``actions``) and the work in the library.
"""

from __future__ import annotations

from contextlib import suppress

import streamlit as st
import streamlit_folium  # noqa: F401 - registers the map component from the script thread

import planner
from planner import app as aps
from planner.app.page import main_area
from planner.app.sidebar import draw_sidebar
from planner.app.state import init_state, scenario_from_widgets
from planner.app.ui import T, ss

st.set_page_config(page_title="planner · 15-minute primary care", page_icon="🏥", layout="wide")
st.html(aps.APP_CSS)  # layout that fits a 1366 x 768 laptop (planner/app/layout.py)

init_state()
draw_sidebar()
with suppress(planner.PlannerError):  # main_area shows the error
    ss.scenario = scenario_from_widgets()
st.title(T("title"))
st.caption(T("subtitle", minutes=ss.scenario.minutes))
main_area()
