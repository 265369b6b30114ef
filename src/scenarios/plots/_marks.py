"""Marks drawn on the axes: measures, thresholds, crossings, surge steps, dated lines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from .. import indicators as _ind
from ..results import over_ages
from ._data import _step_ups, measures
from ._format import _C, format_date, format_number
from ._words import Lang, _t

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes


def _shade_measures(ax: Axes, ds: xr.Dataset, lang: Lang) -> None:
    for name, start, end in measures(ds):
        span = ax.axvspan(
            start.to_pydatetime(),
            (end + pd.Timedelta(days=1)).to_pydatetime(),
            color="#999999",
            alpha=0.13,
            linewidth=0,
            label=f"{_t('measure', lang)}: {name} ({format_date(start, lang)}–{format_date(end, lang)})",
            zorder=0,
        )
        span.set_gid("measure")


def _vline(ax: Axes, date: Any, colour: str, label: str | None, gid: str, style: str = "--") -> None:
    if date is None or pd.isna(date):
        return
    line = ax.axvline(pd.Timestamp(date).to_pydatetime(), color=colour, linestyle=style, linewidth=1.4, label=label)
    line.set_gid(gid)


def _threshold_line(ax: Axes, row: pd.Series, lang: Lang) -> None:
    op, value = row["operator"], float(row["threshold"])
    label = f"{_t('threshold', lang)}: {op} {format_number(value, lang)}"
    line = ax.axhline(value, color=_C["threshold"], linestyle="--", linewidth=1.6, label=label)
    line.set_gid("threshold")


def _crossing_marker(ax: Axes, row: pd.Series, lang: Lang, y: float | None = None) -> None:
    if pd.isna(row["first_date"]):
        ax.text(
            0.99,
            0.97,
            _t("not_crossed", lang),
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=9.5,
            color=_C["grey"],
        )
        return
    date = pd.Timestamp(row["first_date"]).to_pydatetime()
    yv = float(row["threshold"]) if y is None else y
    (marker,) = ax.plot(
        [date],
        [yv],
        marker="o",
        markersize=8,
        color=_C["threshold"],
        linestyle="none",
        label=f"{_t('crossed', lang)}: {format_date(date, lang)}",
        zorder=5,
    )
    marker.set_gid("crossing")
    line = ax.axvline(date, color=_C["threshold"], linestyle=":", linewidth=1.2)
    line.set_gid("crossing_line")
    ax.annotate(
        format_date(date, lang),
        (date, yv),
        xytext=(8, 10),
        textcoords="offset points",
        fontsize=9.5,
        color=_C["threshold"],
        fontweight="bold",
    )


def _mark_steps(ax: Axes, t: Sequence, capacity: np.ndarray, steps: np.ndarray, unit: str, lang: Lang) -> None:
    """Draw a dash-dot line and "+N unit" where a surge step comes into service."""
    for i, k in enumerate(steps):
        added = capacity[k] - capacity[k - 1]
        line = ax.axvline(
            t[k],
            color=_C["surge"],
            linestyle="-.",
            linewidth=1.2,
            label=_t("surge_step", lang) if i == 0 else None,
        )
        line.set_gid("surge")
        ax.annotate(
            f"+{format_number(added, lang, 0)} {unit}",
            (t[k], capacity[k]),
            xytext=(4, 6),
            textcoords="offset points",
            fontsize=9,
            color=_C["surge"],
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
        )


def _mark_activation(ax: Axes, ds: xr.Dataset, lang: Lang) -> None:
    """Draw the plan's activation date (gid ``"activation"``), when the plan is activated within the run."""
    act = _ind.crossings(ds).attrs.get("activation_date", pd.NaT)
    label = f"{_t('activation', lang)}: {format_date(act, lang)}" if not pd.isna(act) else None
    _vline(ax, act, _C["activation"], label, "activation")


def _mark_openings(ax: Axes, ds: xr.Dataset, lang: Lang) -> None:
    """Draw a dash-dot line (gid ``"surge"``) on each day a surge step adds beds, ICU beds or oxygen."""
    days: set[int] = set()
    for name in ("beds_oxygen_available", "icu_staffed_available", "oxygen_supply_m3_per_day"):
        if name in ds and "time" in ds[name].dims:
            days.update(int(k) for k in _step_ups(over_ages(ds[name]).values.astype(float)))
    t = pd.to_datetime(ds["time"].values)
    for i, k in enumerate(sorted(days)):
        line = ax.axvline(
            t[k].to_pydatetime(),
            color=_C["surge"],
            linestyle="-.",
            linewidth=1.1,
            label=_t("surge_step", lang) if i == 0 else None,
        )
        line.set_gid("surge")
