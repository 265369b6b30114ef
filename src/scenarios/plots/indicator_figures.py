"""The plan's indicators against their thresholds: cases and oxygen patients per 100,000."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from .. import indicators as _ind
from ._data import _criteria_rows, _single, _times
from ._format import _C, PageSize, _date_axis, _decorate, _legend, _new_figure, _number_formatter, _rc
from ._marks import _crossing_marker, _mark_activation, _mark_openings, _shade_measures, _threshold_line
from ._words import INDICATOR_LABELS, Lang, _check_lang, _t

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def _indicator_figure(ds: xr.Dataset, indicator: str, title_key: str, lang: Lang, size: PageSize) -> Figure:
    lang = _check_lang(lang)
    values = _ind.indicators_from_results(ds)[indicator]
    values = _single(values, indicator)
    table = _ind.crossings(ds)
    with _rc():
        fig = _new_figure(size)
        ax = fig.add_subplot()
        label, unit = INDICATOR_LABELS[indicator][lang]
        ax.plot(_times(ds), values.values, color=_C["series"], linewidth=2, label=label, gid="series")
        _shade_measures(ax, ds, lang)
        _mark_activation(ax, ds, lang)
        _mark_openings(ax, ds, lang)
        rows = _criteria_rows(table, indicator)
        for _, row in rows.iterrows():
            _threshold_line(ax, row, lang)
            _crossing_marker(ax, row, lang)
        if np.isnan(values.values).all():
            ax.text(0.5, 0.5, _t("no_data", lang), transform=ax.transAxes, ha="center", color=_C["grey"])
        ax.set_ylabel(unit)
        ax.set_xlabel(_t("date", lang))
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(_number_formatter(lang))
        _date_axis(ax, lang, time=_times(ds))
        _legend(ax)
        _decorate(fig, ds, _t(title_key, lang), lang)
    return fig


def cases(ds: xr.Dataset, lang: Lang = "vi", size: PageSize = "a4-landscape") -> Figure:
    """Draw reported cases in the last 7 days per 100,000, the plan's threshold and its crossing date.

    Parameters
    ----------
    ds : xarray.Dataset
        Results of one run (``new_reported_cases`` or ``cases_7d_per_100k``, and ``population_total``).
    lang : {"vi", "en"}
        Language of every label; Vietnamese by default.
    size : {"a4-landscape", "a4-portrait"} or (width, height)
        Page size (inches for a tuple).

    Returns
    -------
    matplotlib.figure.Figure
        The threshold line has gid ``"threshold"``, the crossing marker gid ``"crossing"``.

    Examples
    --------
    >>> import scenarios
    >>> ds = scenarios.run("configs/phong_tho_new_variant.toml")
    >>> fig = scenarios.plots.cases(ds, lang="vi")
    >>> fig.axes[0].get_ylabel()
    'ca/100.000 dân'
    """
    return _indicator_figure(ds, "cases_7d_per_100k", "cases_title", lang, size)


def oxygen_patients(ds: xr.Dataset, lang: Lang = "vi", size: PageSize = "a4-landscape") -> Figure:
    """Patients needing oxygen (7-day average) per 100,000 against the plan's threshold.

    Parameters and returns as :func:`cases`; needs ``needing_oxygen`` (or the indicator) in ``ds``.
    """
    return _indicator_figure(ds, "oxygen_patients_7d_avg_per_100k", "oxygen_patients_title", lang, size)
