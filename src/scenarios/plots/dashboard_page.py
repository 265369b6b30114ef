"""The one-page dashboard: every criterion of the plan, activation, overflow and lead time."""

from __future__ import annotations

import math
import textwrap
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from .. import indicators as _ind
from ._data import _met_flags, _single, _times
from ._format import (
    _C,
    PageSize,
    _date_axis,
    _decorate,
    _new_figure,
    _number_formatter,
    _rc,
    _wrap,
    format_date,
    format_number,
)
from ._marks import _mark_openings, _threshold_line, _vline
from ._words import INDICATOR_LABELS, Lang, _check_lang, _t

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def _panel_title(indicator: str, lang: Lang, width: int = 48) -> str:
    return textwrap.fill(INDICATOR_LABELS[indicator][lang][0], width)


def dashboard(ds: xr.Dataset, lang: Lang = "vi", size: PageSize = "a4-portrait") -> Figure:
    """One page with every criterion of the plan, the activation date and the lead time to overflow.

    One panel per criterion of the run's threshold set: the indicator, its threshold (gid
    ``"threshold"``), the days it is met shaded, the plan's activation date (gid ``"activation"``) and
    the first overflow date (gid ``"overflow"``). A box on top states the activation date, the first
    criterion met, the first overflow date and the lead time between them.

    Parameters
    ----------
    ds : xarray.Dataset
        Results of one run.
    lang : {"vi", "en"}
        Language.
    size : {"a4-portrait", "a4-landscape"} or (width, height)
        Page size; portrait by default (a whole annex page).

    Returns
    -------
    matplotlib.figure.Figure
    """
    lang = _check_lang(lang)
    table = _ind.crossings(ds)
    values = _ind.indicators_from_results(ds)
    crit = table[table["kind"] == "criterion"].reset_index(drop=True)
    act_date = table.attrs.get("activation_date", pd.NaT)
    ovf_date = table.attrs.get("overflow_date", pd.NaT)
    lead = table.attrs.get("lead_days", pd.NA)
    first = table.attrs.get("first_criterion")
    t = _times(ds)
    with _rc():
        fig = _new_figure(size, tall=True)
        n = len(crit)
        ncols = 2 if n > 1 else 1
        nrows = math.ceil(n / ncols)
        legend_row = n > 0 and n % ncols == 0  # no empty panel slot for the legend: a row of its own
        ratios = [0.32 * 2 / max(nrows, 1)] + [1.0] * nrows + ([0.16] if legend_row else [])
        grid = fig.add_gridspec(len(ratios), ncols, height_ratios=ratios)
        box = fig.add_subplot(grid[0, :])
        box.axis("off")
        box.set_gid("summary")
        if pd.isna(act_date):
            lines = [_t("not_activated", lang)]
        else:
            first_text = ", ".join(_criterion_label(c, crit, lang) for c in (first or "").split(", ") if c)
            lines = [
                f"{_t('activation', lang)}: {format_date(act_date, lang)}"
                + (f" ({_t('first_criterion', lang)}: {first_text})" if first_text else "")
            ]
        at_start = crit[crit["first_day"].fillna(-1) == 0]
        for _, r in at_start.iterrows():
            lines.append(_t("met_at_start", lang).format(criterion=_criterion_label(r["criterion"], crit, lang)))
        lines.append(
            f"{_t('overflow_first', lang)}: {format_date(ovf_date, lang)}"
            if not pd.isna(ovf_date)
            else _t("no_overflow", lang)
        )
        if not pd.isna(act_date) and not pd.isna(lead):
            lines.append(f"{_t('lead_time', lang)}: {format_number(int(lead), lang, 0)} {_t('days', lang)}")
        w = fig.get_size_inches()[0]
        lines = [part for line in lines for part in _wrap(line, w - 0.6, 11.5)]
        box.text(
            0.0,
            0.95,
            "\n".join(lines),
            transform=box.transAxes,
            va="top",
            ha="left",
            fontsize=11.5,
            linespacing=1.7,
            bbox={"boxstyle": "round,pad=0.6", "facecolor": "#f3f3f3", "edgecolor": "#bbbbbb"},
        )
        wrap = 34 if fig.get_size_inches()[0] < 7 else 48  # characters per line of a panel title
        for i, row in crit.iterrows():
            ax = fig.add_subplot(grid[1 + i // ncols, i % ncols])
            ind = row["indicator"]
            v = _single(values[ind], ind).values
            ax.plot(t, v, color=_C["series"], linewidth=1.8, gid="series")
            _threshold_line(ax, row, lang)
            met = _met_flags(v, row)
            if met.any():
                ax.fill_between(
                    t,
                    0,
                    1,
                    where=met,
                    transform=ax.get_xaxis_transform(),
                    color=_C["met"],
                    alpha=0.18,
                    step="mid",
                    label=_t("met_days", lang),
                )
            if np.isnan(v).all():
                ax.text(0.5, 0.5, _t("no_data", lang), transform=ax.transAxes, ha="center", color=_C["grey"])
            _vline(ax, act_date, _C["activation"], _t("activation", lang), "activation")
            _mark_openings(ax, ds, lang)
            _vline(ax, ovf_date, _C["overflow"], _t("overflow_short", lang), "overflow", style=":")
            ax.set_title(
                f"{_panel_title(ind, lang, wrap)}\n{_t('threshold', lang)}: {row['operator']} "
                f"{format_number(float(row['threshold']), lang)}",
                fontsize=10,
                loc="left",
            )
            ax.set_ylabel(INDICATOR_LABELS[ind][lang][1], fontsize=9.5)
            ax.set_ylim(bottom=0)
            ax.yaxis.set_major_formatter(_number_formatter(lang))
            _date_axis(ax, lang, maxticks=5, time=t)
            ax.tick_params(labelsize=8.5)
        handles = _dashboard_legend(lang, not pd.isna(act_date), not pd.isna(ovf_date))
        if n % ncols:  # an empty slot: the legend goes there, larger
            slot = fig.add_subplot(grid[1 + n // ncols, n % ncols])
            slot.axis("off")
            legend = slot.legend(handles=handles, loc="center left", fontsize=10, frameon=False)
            legend.set_in_layout(False)
        elif legend_row:  # under the panels, where it hides no data
            slot = fig.add_subplot(grid[-1, :])
            slot.axis("off")
            slot.legend(handles=handles, loc="center", ncols=3, fontsize=8.5, frameon=False)
        _decorate(fig, ds, _t("dashboard_title", lang), lang)  # the threshold set is in the source line
    return fig


def _dashboard_legend(lang: Lang, activated: bool, overflow: bool) -> list:
    """Legend entries shared by the dashboard's panels."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Line2D([], [], color=_C["series"], linewidth=1.8, label=_t("indicator", lang)),
        Line2D([], [], color=_C["threshold"], linestyle="--", linewidth=1.6, label=_t("threshold", lang)),
        Patch(color=_C["met"], alpha=0.18, label=_t("met_days", lang)),
    ]
    if activated:
        handles.append(Line2D([], [], color=_C["activation"], linestyle="--", label=_t("activation", lang)))
    if overflow:
        handles.append(Line2D([], [], color=_C["overflow"], linestyle=":", label=_t("overflow_day", lang)))
    handles.append(Line2D([], [], color=_C["surge"], linestyle="-.", label=_t("surge_step", lang)))
    return handles


def _criterion_label(name: str, crit: pd.DataFrame, lang: Lang) -> str:
    rows = crit[crit["criterion"] == name]
    if not len(rows):
        return name
    ind = rows.iloc[0]["indicator"]
    return INDICATOR_LABELS[ind][lang][0] if ind in INDICATOR_LABELS else name
