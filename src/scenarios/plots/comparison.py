"""Several runs on one axes: what-ifs, engines, replicate bands."""

from __future__ import annotations

import textwrap
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from .. import indicators as _ind
from ..results import over_ages
from ._data import _criteria_rows, _mdates_num, _num_to_date
from ._format import (
    _RUN_COLOURS,
    PageSize,
    _date_axis,
    _decorate,
    _legend,
    _new_figure,
    _number_formatter,
    _rc,
    format_date,
    source_line,
    unit_label,
    variable_label,
)
from ._marks import _threshold_line
from ._words import _ENGINES, INDICATOR_LABELS, Lang, _check_lang, _t

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def _ensemble_crossings(
    ax: Axes, ds: xr.Dataset, variable: str, label: str, colour: str, lang: Lang, drawn: set
) -> None:
    """Mark the median crossing date of a run with replicates, with the earliest-latest range as a bar."""
    table = _ind.crossings(ds)
    rows = _criteria_rows(table, variable)
    for (op, value), group in rows.groupby(["operator", "threshold"], sort=False):
        if (op, float(value)) not in drawn:
            _threshold_line(ax, group.iloc[0], lang)
            drawn.add((op, float(value)))
        dates = pd.to_datetime(group["first_date"]).dropna()
        if dates.empty:
            continue
        x = _mdates_num(dates)
        mid, lo, hi = float(np.median(x)), float(x.min()), float(x.max())
        share = f"{len(dates)}/{len(group)}"
        text = (
            f"{_t('crossed', lang)} ({label}, {share}): {format_date(_num_to_date(mid), lang)} "
            f"({format_date(_num_to_date(lo), lang)} – {format_date(_num_to_date(hi), lang)})"
        )
        bar = ax.errorbar(
            [mid],
            [float(value)],
            xerr=[[mid - lo], [hi - mid]],
            fmt="o",
            markersize=8,
            color=colour,
            capsize=5,
            zorder=5,
            label=text,
        )
        bar.lines[0].set_gid(f"crossing:{label}")


def _run_label(ds: xr.Dataset, lang: Lang) -> str:
    engine = ds.attrs.get("engine", "")
    name = ds.attrs.get("scenario_name", "run")
    return f"{name} ({_ENGINES.get(engine, {}).get(lang, engine)})" if engine else name


def compare(
    runs: Mapping[str, xr.Dataset] | Sequence[xr.Dataset],
    variable: str = "cases_7d_per_100k",
    lang: Lang = "vi",
    size: PageSize = "a4-landscape",
    title: str | None = None,
) -> Figure:
    """Two or more runs on the same axes: what-ifs, or the SEIR and agent-based engines.

    Parameters
    ----------
    runs : mapping of label to Dataset, sequence of Datasets, or Dataset with a ``scenario`` dim
        The runs; a sequence is labelled by each run's scenario name and engine, the results of
        :func:`scenarios.sweep` by scenario. A run with replicates is drawn as its median with a 5-95%
        band and its crossing dates as median and range.
    variable : str
        A plan indicator (:data:`INDICATOR_LABELS`, e.g. ``"cases_7d_per_100k"``; the threshold line and
        each run's crossing date are drawn) or a results variable (summed over ``age_group``).
    lang, size
        As :func:`cases`.
    title : str, optional
        Figure title; default the variable's label.

    Returns
    -------
    matplotlib.figure.Figure
        One line per run (gid ``"run:<label>"``); crossing markers have gid ``"crossing:<label>"``.
    """
    lang = _check_lang(lang)
    if isinstance(runs, xr.Dataset):
        if "scenario" not in runs.dims:
            raise TypeError(
                "compare takes two or more runs: a mapping {label: Dataset}, a list of Datasets, or the "
                "results of scenarios.sweep (a 'scenario' dim)"
            )
        items = [(str(s), runs.sel(scenario=s, drop=True)) for s in runs["scenario"].values]
    elif isinstance(runs, Mapping):
        items = list(runs.items())
    else:
        items = [(_run_label(d, lang), d) for d in runs]
    items = [(k, d.isel(replicate=0, drop=True) if d.sizes.get("replicate") == 1 else d) for k, d in items]
    if len(items) < 2:
        raise ValueError("compare needs at least two runs")
    labels = [k for k, _ in items]
    if len(set(labels)) < len(labels):
        items = [(f"{k} [{i + 1}]", d) for i, (k, d) in enumerate(items)]
    is_indicator = variable in INDICATOR_LABELS
    with _rc():
        fig = _new_figure(size)
        ax = fig.add_subplot()
        thresholds_drawn: set[tuple[str, float]] = set()
        unit = ""
        for j, (label, ds) in enumerate(items):
            colour = _RUN_COLOURS[j % len(_RUN_COLOURS)]
            if is_indicator:
                da = _ind.indicators_from_results(ds)[variable]
                unit = INDICATOR_LABELS[variable][lang][1]
            else:
                if variable not in ds:
                    raise ValueError(f"run {label!r} has no variable {variable!r}")
                da = ds[variable]
                unit = unit_label(da.attrs, lang)
            da = over_ages(da)
            t = pd.to_datetime(ds["time"].values).to_pydatetime()
            extra = [d for d in da.dims if d != "time"]
            if extra:
                stacked = da.stack(_r=extra).transpose("time", "_r").values
                with warnings.catch_warnings():  # days before a 7-day window exists are NaN in every replicate
                    warnings.simplefilter("ignore", RuntimeWarning)
                    mid = np.nanmedian(stacked, axis=1)
                    lo, hi = np.nanpercentile(stacked, [5, 95], axis=1)
                ax.fill_between(
                    t,
                    lo,
                    hi,
                    color=colour,
                    alpha=0.18,
                    linewidth=0,
                    label=f"{label}: {_t('median_band', lang)}",
                )
                y = mid
            else:
                y = da.values
            ax.plot(t, y, color=colour, linewidth=2, label=None if extra else label, gid=f"run:{label}")
            if is_indicator and extra:
                _ensemble_crossings(ax, ds, variable, label, colour, lang, thresholds_drawn)
            if is_indicator and not extra:
                rows = _criteria_rows(_ind.crossings(ds), variable)
                for _, row in rows.iterrows():
                    key = (row["operator"], float(row["threshold"]))
                    if key not in thresholds_drawn:
                        _threshold_line(ax, row, lang)
                        thresholds_drawn.add(key)
                    if not pd.isna(row["first_date"]):
                        d = pd.Timestamp(row["first_date"]).to_pydatetime()
                        (m,) = ax.plot(
                            [d],
                            [float(row["threshold"])],
                            marker="o",
                            markersize=8,
                            color=colour,
                            linestyle="none",
                            zorder=5,
                            label=f"{_t('crossed', lang)} ({label}): {format_date(d, lang)}",
                        )
                        m.set_gid(f"crossing:{label}")
        ax.set_ylabel(unit)
        ax.set_xlabel(_t("date", lang))
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(_number_formatter(lang))
        span = [pd.Timestamp(d["time"].values[i]) for _, d in items for i in (0, -1)]
        _date_axis(ax, lang, time=[min(span).to_pydatetime(), max(span).to_pydatetime()])
        _legend(ax)
        heading = title or (
            INDICATOR_LABELS[variable][lang][0] if is_indicator else variable_label(items[0][1], variable, lang)
        )
        first_ds = items[0][1]
        subtitle = _t("compare_title", lang) + ": " + "; ".join(k for k, _ in items)
        sources = " | ".join(f"{k}: {source_line(d, lang).split(': ', 1)[1]}" for k, d in items)
        _decorate(
            fig,
            first_ds,
            heading,
            lang,
            subtitle=textwrap.shorten(subtitle, 160),
            source=f"{_t('source', lang)}: {sources}",
        )
    return fig
