"""Figures for the annexes (phụ lục) of surge plans, in Vietnamese or English.

Each figure function takes the results Dataset of one run (from :func:`scenarios.run` or a ``results.nc``)
and returns a :class:`matplotlib.figure.Figure` built with the object-oriented API (no pyplot state), sized
for A4, with a title, axis labels with units, and a source line (config, date run, version, engine, seed):

=========================  ===========================================================================
:func:`cases`              reported cases in the last 7 days per 100,000, with the plan's threshold line
                           and the crossing date marked
:func:`oxygen_patients`    patients needing oxygen (7-day average) per 100,000 against its threshold
:func:`beds`               tier-2 (oxygen) bed demand vs available beds, surge steps, the day beds run out
:func:`icu`                ICU demand vs staffed ICU beds, overflow shaded
:func:`oxygen`             oxygen demand vs supply in m³/day (cylinders/day on the right), unmet shaded
:func:`dashboard`          one page: every criterion of the plan, activation date, lead time to overflow
:func:`compare`            two or more runs (what-ifs, SEIR vs agent-based) on the same axes
:func:`bands`              median over many runs with a band between stated quantiles (10 runs or more)
=========================  ===========================================================================

:func:`crossing_probability` draws the share of many runs in which each criterion is crossed by each date.
:func:`save` writes a figure as PNG (300 dpi), PDF and SVG, each file atomically. Text is set in DejaVu Sans
(shipped with matplotlib; it has every Vietnamese glyph) and kept as text in SVG and PDF, so an annex can
be searched and edited. ``lang="vi"`` (the default: planners' annexes) uses Vietnamese labels, dates as
dd/mm/yyyy and numbers as ``1.234,5``; ``lang="en"`` uses English labels, ``1,234.5`` and ``15 Jan 2027``.

The package is split by concern: ``_words`` (Vietnamese and English labels), ``_format`` (numbers, dates,
page, source line, saving), ``_data`` (what figures read from a Dataset), ``_marks`` (thresholds, crossings,
measures, surge steps), and one module per family of figures. Everything public is re-exported here.
"""

from __future__ import annotations

from . import kit
from ._data import RESOURCES, first_over_capacity, m3_per_cylinder, measures, threshold_set
from ._format import (
    A4_LANDSCAPE,
    A4_PORTRAIT,
    FONT,
    SIZES,
    Format,
    PageSize,
    format_date,
    format_number,
    page_bbox,
    save,
    source_line,
    to_bytes,
    unit_label,
    variable_label,
)
from ._words import INDICATOR_LABELS, Lang, engine_label
from .bands import MIN_RUNS, bands, crossing_probability
from .care_figures import beds, icu, oxygen
from .comparison import compare
from .dashboard_page import dashboard
from .indicator_figures import cases, oxygen_patients

__all__ = [
    "kit",
    "A4_LANDSCAPE",
    "A4_PORTRAIT",
    "FIGURES",
    "FONT",
    "MIN_RUNS",
    "RESOURCES",
    "SIZES",
    "INDICATOR_LABELS",
    "Format",
    "Lang",
    "PageSize",
    "bands",
    "beds",
    "cases",
    "compare",
    "crossing_probability",
    "dashboard",
    "engine_label",
    "first_over_capacity",
    "format_date",
    "format_number",
    "icu",
    "m3_per_cylinder",
    "measures",
    "oxygen",
    "oxygen_patients",
    "page_bbox",
    "save",
    "source_line",
    "threshold_set",
    "to_bytes",
    "unit_label",
    "variable_label",
]

#: The figures of a report, in annex order: name -> function.
FIGURES = {
    "dashboard": dashboard,
    "cases": cases,
    "oxygen_patients": oxygen_patients,
    "beds": beds,
    "icu": icu,
    "oxygen": oxygen,
}
