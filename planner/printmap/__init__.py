"""Printed maps for a report to officials: PDF or PNG, A4/A3, with title, legend and scale.

:func:`print_map` draws one :class:`~planner.pipeline.CoverageResult` as a planning bureau prints
it: a Chinese title, the county and township outlines with township names, the roads by class in
quiet greys, the isochrone bands (whole minutes), the uncovered residents in fixed classes (人),
the facilities by tier, a legend (图例), a north arrow (指北针), a metric scale bar and a numeric
scale (比例尺), the coordinate system, data sources and the date (制图日期), and the synthetic-data
label on the demo. The map is drawn in the area's UTM zone at a round scale (1:50,000,
1:100,000, ...), so the scale bar and the numeric scale are true on paper at 100 % print size.

Text needs a CJK font: the first of the usual ones found by matplotlib (WenQuanYi Micro Hei from
Debian's ``fonts-wqy-microhei``, Noto Sans CJK, Source Han Sans, SimHei, Microsoft YaHei,
PingFang, ...). Without one the map is drawn with English labels (a warning says so), never with
empty boxes for the missing characters.

>>> import planner
>>> from planner.printmap import print_map
>>> result = planner.analyze(planner.load_demo())          # doctest: +SKIP
>>> print_map(result, "map.pdf", paper="A3")               # doctest: +SKIP
PosixPath('map.pdf')
>>> png = print_map(result, None, format="png", dpi=150)   # bytes, e.g. for a download button  # doctest: +SKIP

The package: ``figure`` (the page and its options), ``drawing`` (the layers and the map's
furniture), ``style`` (paper, colours, words), ``cli`` (``planner map``); the public names
are re-exported here.
"""

from __future__ import annotations

from .cli import (  # noqa: F401 - re-exported
    add_parser,
    cmd_map,
)
from .drawing import (  # noqa: F401 - re-exported
    _wrap,
)
from .figure import (  # noqa: F401 - re-exported
    _umask,
    find_cjk_font,
    map_figure,
    map_format,
    print_map,
)
from .style import (  # noqa: F401 - re-exported
    _CJK,
    CJK_FONTS,
    FORMATS,
    ORIENTATIONS,
    PAPER_MM,
    UNCOVERED_BREAKS,
    UNCOVERED_COLORS,
    PrintMapWarning,
)
