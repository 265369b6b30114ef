"""Uncertainty over many runs (replicates, or parameters varied): quantile bands and crossing probabilities.

:func:`bands` draws the median of a series over runs with the band between two stated quantiles;
:func:`crossing_probability` draws, for each criterion of the plan, the share of runs in which it has been
crossed by each date. Both refuse fewer than :data:`MIN_RUNS` runs: a band from a handful of runs
pretends to a precision it does not have.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from .. import indicators as _ind
from ..results import over_ages
from ._data import MIN_RUNS, RESOURCES
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
    format_number,
    unit_label,
    variable_label,
)
from ._marks import _threshold_line
from ._words import INDICATOR_LABELS, Lang, _check_lang

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["MIN_RUNS", "QUANTILES", "bands", "crossing_probability", "n_runs"]

#: Default quantiles of a band: 5% and 95%, with the median.
QUANTILES = (0.05, 0.95)


_W = {
    "band": {
        "vi": "trung vị và khoảng {lo}–{hi}% của {n} lần chạy",
        "en": "median and {lo}–{hi}% range of {n} runs",
    },
    "capacity": {"vi": "khả năng đáp ứng (trung vị)", "en": "capacity (median)"},
    "beds_patients": {"vi": "giường / bệnh nhân", "en": "beds / patients"},
    "need": {"vi": "nhu cầu", "en": "need"},
    "prob_title": {
        "vi": "Xác suất đã vượt ngưỡng tính đến mỗi ngày ({n} lần chạy)",
        "en": "Probability a threshold is crossed by each date ({n} runs)",
    },
    "prob_axis": {"vi": "tỷ lệ lần chạy đã vượt ngưỡng (%)", "en": "share of runs crossed (%)"},
    "activation": {"vi": "Kích hoạt phương án", "en": "Plan activation"},
    "overflow": {
        "vi": "Quá tải (có người bệnh không được thở oxy/hồi sức)",
        "en": "Overflow (patients without oxygen/ICU care)",
    },
    "too_few": {
        "vi": "cần ít nhất {m} lần chạy để vẽ khoảng bất định (có {n})",
        "en": "uncertainty needs at least {m} runs (got {n})",
    },
    "icu": {"vi": "Hồi sức tích cực (ICU): bệnh nhân cần và giường", "en": "ICU: patients needing it and beds"},
    "beds": {"vi": "Giường có oxy (tầng 2): bệnh nhân cần và giường", "en": "Oxygen beds (tier 2): need and beds"},
    "oxygen": {"vi": "Oxy y tế: nhu cầu và nguồn cung (m³/ngày)", "en": "Medical oxygen: need and supply (m³/day)"},
}


def n_runs(ds: xr.Dataset) -> int:
    """Return the number of runs in ``ds`` (``replicate`` x ``scenario`` x ``draw``; 1 for a single run)."""
    return int(np.prod([ds.sizes[d] for d in ("replicate", "scenario", "draw") if d in ds.dims] or [1]))


def _check_runs(ds: xr.Dataset) -> int:
    n = n_runs(ds)
    if n < MIN_RUNS:
        raise ValueError(_W["too_few"]["en"].format(m=MIN_RUNS, n=n))
    return n


def _stack(da: xr.DataArray) -> np.ndarray:
    da = over_ages(da)
    extra = [d for d in da.dims if d != "time"]
    return da.stack(_r=extra).transpose("time", "_r").values.astype(float) if extra else da.values[:, None]


def _quantiles(values: np.ndarray, q: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with warnings.catch_warnings():  # days before a 7-day window exists are NaN in every run
        warnings.simplefilter("ignore", RuntimeWarning)
        mid = np.nanmedian(values, axis=1)
        lo, hi = np.nanquantile(values, list(q), axis=1)
    return mid, lo, hi


def bands(
    ds: xr.Dataset,
    variable: str = "cases_7d_per_100k",
    lang: Lang = "vi",
    size: PageSize = "a4-landscape",
    quantiles: tuple[float, float] = QUANTILES,
) -> Figure:
    """Draw the median over runs of a series with the band between two quantiles, stated in the legend.

    Parameters
    ----------
    ds : xarray.Dataset
        Results with a ``replicate`` (and/or ``scenario``) dim holding at least :data:`MIN_RUNS` runs.
    variable : str
        A plan indicator (its threshold is drawn), ``"icu"``, ``"beds"`` or ``"oxygen"`` (need against
        median capacity, :data:`RESOURCES`), or a results variable.
    lang, size
        As :func:`scenarios.plots.cases`.
    quantiles : (float, float)
        Lower and upper quantile of the band.

    Returns
    -------
    matplotlib.figure.Figure
        The band has gid ``"band"``, the median line gid ``"median"``.

    Raises
    ------
    ValueError
        Fewer than :data:`MIN_RUNS` runs.
    """
    lang = _check_lang(lang)
    n = _check_runs(ds)
    t = pd.to_datetime(ds["time"].values).to_pydatetime()
    capacity = None
    if variable in INDICATOR_LABELS:
        values = _stack(_ind.indicators_from_results(ds)[variable])
        title, unit = INDICATOR_LABELS[variable][lang]
        label = title
    elif variable in RESOURCES:
        need, cap = RESOURCES[variable]
        values = sum(_stack(ds[v]) for v in need)
        capacity = np.nanmedian(_stack(ds[cap]), axis=1)
        title = _W[variable][lang]
        unit = unit_label(ds[need[0]].attrs, lang) if variable == "oxygen" else _W["beds_patients"][lang]
        label = _W["need"][lang]
    else:
        values = _stack(ds[variable])
        title = label = variable_label(ds, variable, lang)
        unit = unit_label(ds[variable].attrs, lang)
    mid, lo, hi = _quantiles(values, quantiles)
    lo_pc, hi_pc = (format_number(100 * q, lang, 0) for q in quantiles)
    with _rc():
        fig = _new_figure(size)
        ax = fig.add_subplot()
        band = ax.fill_between(
            t,
            lo,
            hi,
            color=_C["series"],
            alpha=0.2,
            linewidth=0,
            label=f"{label}: {_W['band'][lang].format(lo=lo_pc, hi=hi_pc, n=n)}",
        )
        band.set_gid("band")
        ax.plot(t, mid, color=_C["series"], linewidth=2, gid="median")
        if capacity is not None:
            ax.plot(t, capacity, color=_C["capacity"], linewidth=2, label=_W["capacity"][lang], gid="capacity")
        if variable in INDICATOR_LABELS:
            table = _ind.crossings(ds.isel({d: 0 for d in ("replicate", "scenario", "draw") if d in ds.dims}))
            for _, row in table[(table["kind"] == "criterion") & (table["indicator"] == variable)].iterrows():
                _threshold_line(ax, row, lang)
        ax.set_ylabel(unit)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(_number_formatter(lang))
        _date_axis(ax, lang, time=t)
        _legend(ax)
        _decorate(fig, ds, title, lang)
    return fig


def crossing_probability(ds: xr.Dataset, lang: Lang = "vi", size: PageSize = "a4-landscape") -> Figure:
    """Draw the share of runs that have met each criterion of the plan, activation and overflow by each date.

    Parameters
    ----------
    ds : xarray.Dataset
        Results with at least :data:`MIN_RUNS` runs.
    lang, size
        As :func:`scenarios.plots.cases`.

    Returns
    -------
    matplotlib.figure.Figure
        One step line per criterion (gid ``"p:<criterion>"``), in percent.
    """
    lang = _check_lang(lang)
    n = _check_runs(ds)
    table = _ind.crossings(ds)
    # The plan's criteria, its activation, and the first day anyone goes without oxygen or ICU care.
    rows = table[table["kind"].isin(["criterion", "activation"]) | (table["criterion"] == "overflow")]
    share = _ind.share_crossed(rows, ds["time"].values, n) * 100
    times = pd.to_datetime(share.time.values)
    kinds = rows.drop_duplicates("criterion").set_index("criterion")
    with _rc():
        fig = _new_figure(size)
        ax = fig.add_subplot()
        for j, name in enumerate(share.criterion.values):
            kind = kinds.loc[name, "kind"]
            if kind == "criterion":
                label = INDICATOR_LABELS.get(kinds.loc[name, "indicator"], {}).get(lang, (name,))[0]
                style = {"color": _RUN_COLOURS[j % len(_RUN_COLOURS)], "linewidth": 1.8, "zorder": 2}
                style["linestyle"] = ("-", "--", ":", "-.")[j % 4]
            else:  # wide and pale: the criteria show through
                label = _W[kind][lang]
                style = {"color": _C[kind], "linewidth": 5, "alpha": 0.45, "zorder": 1}
            ax.step(
                times.to_pydatetime(),
                share.sel(criterion=name).values,
                where="post",
                label=label,
                gid=f"p:{name}",
                **style,
            )
        ax.set_ylim(0, 102)
        ax.set_ylabel(_W["prob_axis"][lang])
        _date_axis(ax, lang, time=times.to_pydatetime())
        _legend(ax)
        _decorate(fig, ds, _W["prob_title"][lang].format(n=n), lang)
    return fig
