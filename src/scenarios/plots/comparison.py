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
from ._data import MIN_RUNS, _criteria_rows, _mdates_num, _num_to_date
from ._format import (
    _C,
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
from ._words import INDICATOR_LABELS, Lang, _check_lang, _t, engine_label

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


#: Line styles of successive runs, so overlapping runs stay apart in print and in grey.
_STYLES = ("-", "--", "-.", ":")

_W = {
    "band": {"vi": "trung vị và khoảng 5–95% của {n} lần chạy", "en": "median and 5–95% range of {n} runs"},
    "range": {
        "vi": "trung vị, thấp nhất và cao nhất của {n} lần chạy",
        "en": "median, lowest and highest of {n} runs",
    },
    "identical": {
        "vi": "«{a}» và «{b}» cho kết quả giống hệt nhau (hai đường trùng nhau)",
        "en": "“{a}” and “{b}” give identical results (the lines overlap)",
    },
}


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
    return f"{name} ({engine_label(engine, lang)})" if engine else name


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
        drawn: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        identical: list[tuple[str, str]] = []
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
            style = _STYLES[j % len(_STYLES)]
            if extra:
                stacked = da.stack(_r=extra).transpose("time", "_r").values
                n = stacked.shape[1]
                # A 5-95% band needs enough runs to mean anything; below that, show the whole range.
                q = (5, 95) if n >= MIN_RUNS else (0, 100)
                with warnings.catch_warnings():  # days before a 7-day window exists are NaN in every replicate
                    warnings.simplefilter("ignore", RuntimeWarning)
                    mid = np.nanmedian(stacked, axis=1)
                    lo, hi = np.nanpercentile(stacked, q, axis=1)
                band_words = _W["band"] if n >= MIN_RUNS else _W["range"]
                ax.fill_between(
                    t,
                    lo,
                    hi,
                    color=colour,
                    alpha=0.18,
                    linewidth=0,
                    label=f"{label}: {band_words[lang].format(n=n)}",
                )
                y = mid
            else:
                y = da.values
            run_label = label
            if is_indicator and not extra:
                dates = _criteria_rows(_ind.crossings(ds), variable)["first_date"].dropna()
                if len(dates):
                    run_label += f" — {_t('crossed', lang).lower()} {format_date(dates.min(), lang)}"
            ax.plot(
                t,
                y,
                color=colour,
                linewidth=2,
                linestyle=style,
                label=None if extra else run_label,
                gid=f"run:{label}",
            )
            for other, (other_t, other_y) in drawn.items():
                if len(other_t) == len(t) and (other_t == t).all() and np.allclose(y, other_y, equal_nan=True):
                    identical.append((other, label))
            drawn[label] = (np.asarray(t), np.asarray(y, dtype=float))
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
                        (m,) = ax.plot(  # its date is in the run's legend entry: one entry per run
                            [d],
                            [float(row["threshold"])],
                            marker="o",
                            markersize=8,
                            color=colour,
                            linestyle="none",
                            zorder=5,
                        )
                        m.set_gid(f"crossing:{label}")
        ax.set_ylabel(unit)
        ax.set_xlabel(_t("date", lang))
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(_number_formatter(lang))
        span = [pd.Timestamp(d["time"].values[i]) for _, d in items for i in (0, -1)]
        _date_axis(ax, lang, time=[min(span).to_pydatetime(), max(span).to_pydatetime()])
        _legend(ax)
        if identical:
            note = "; ".join(_W["identical"][lang].format(a=a, b=b) for a, b in identical)
            ax.text(
                0.99,
                0.02,
                textwrap.fill(note, 70),
                transform=ax.transAxes,
                ha="right",
                va="bottom",
                color=_C["grey"],
                gid="identical",
                bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": "#bbbbbb", "alpha": 0.9},
            )
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
