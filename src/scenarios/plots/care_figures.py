"""Care against capacity: oxygen beds, ICU beds and medical oxygen."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from ._data import _oxygen_config, _require, _series, _step_ups, _times, first_over_capacity, m3_per_cylinder
from ._format import (
    _C,
    PageSize,
    _date_axis,
    _decorate,
    _legend,
    _new_figure,
    _number_formatter,
    _rc,
    format_date,
    format_number,
)
from ._marks import _mark_activation, _mark_steps, _vline
from ._words import Lang, _check_lang, _t

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def _cylinder_text(ds: xr.Dataset, lang: Lang) -> str:
    oxygen = _oxygen_config(ds)
    litres = format_number(oxygen.cylinder_water_litres, lang, 0)
    bar = format_number(oxygen.cylinder_pressure_bar, lang, 0)
    return f"{litres} L, {bar} bar"


def _need_against_capacity(
    ax, t, need: np.ndarray, cap: np.ndarray, labels: tuple[str, str, str], gids: tuple[str, str], unit: str,
    lang: Lang, alpha: float = 0.3,
) -> None:  # fmt: skip
    """Need (gid ``"demand"``) and capacity lines, capacity's surge steps, and the shaded shortfall.

    ``labels`` are the need, capacity and shortfall legend texts; ``gids`` those of capacity and shortfall.
    """
    ax.plot(t, need, color=_C["series"], linewidth=2, label=labels[0], gid="demand")
    ax.plot(t, cap, color=_C["capacity"], linewidth=2, label=labels[1], gid=gids[0])
    _mark_steps(ax, t, cap, _step_ups(cap), unit, lang)
    short = ax.fill_between(
        t, cap, need, where=need > cap, color=_C["overflow"], alpha=alpha, interpolate=True, label=labels[2]
    )
    short.set_gid(gids[1])


def beds(ds: xr.Dataset, lang: Lang = "vi", size: PageSize = "a4-landscape") -> Figure:
    """Tier-2 oxygen-bed demand against available beds, with surge steps and the day beds run out.

    Demand is every patient who needs a tier-2 oxygen bed on the date: ``census_oxygen + unmet_oxygen``
    (in a bed, or needing one and not having it). Surge steps show where available beds step up. Beds run
    out on the first date demand exceeds the beds available.

    Parameters
    ----------
    ds : xarray.Dataset
        Results of one run with ``census_oxygen``, ``unmet_oxygen`` and ``beds_oxygen_available``.
    lang, size
        As :func:`cases`.

    Returns
    -------
    matplotlib.figure.Figure
        Lines with gids ``"demand"``, ``"capacity"``, ``"beds_run_out"`` and ``"surge"`` (one per step).
    """
    lang = _check_lang(lang)
    _require(ds, ["census_oxygen", "unmet_oxygen", "beds_oxygen_available"], "beds")
    t = _times(ds)
    demand = (_series(ds, "census_oxygen") + _series(ds, "unmet_oxygen")).values
    avail = _series(ds, "beds_oxygen_available").values
    run_out = first_over_capacity(ds["time"].values, demand, avail)
    with _rc():
        fig = _new_figure(size)
        ax = fig.add_subplot()
        labels = (_t("tier2_demand", lang), _t("beds_available", lang), _t("overflow_short", lang))
        _need_against_capacity(
            ax, t, demand, avail, labels, ("capacity", "overflow"), _t("beds_unit", lang), lang, 0.25
        )
        if run_out is not None:
            _vline(
                ax,
                run_out,
                _C["overflow"],
                f"{_t('beds_run_out', lang)}: {format_date(run_out, lang)}",
                "beds_run_out",
            )
        else:
            ax.text(
                0.99,
                0.97,
                _t("beds_enough", lang),
                transform=ax.transAxes,
                ha="right",
                va="top",
                color=_C["grey"],
                fontsize=9.5,
            )
        _finish_beds_axes(fig, ax, ds, lang, "beds_title")
    return fig


def _finish_beds_axes(fig: Figure, ax, ds: xr.Dataset, lang: Lang, title_key: str) -> None:
    """Labels, activation marker, axes and source line shared by the beds and ICU figures."""
    ax.set_ylabel("giường / bệnh nhân" if lang == "vi" else "beds / patients")
    _mark_activation(ax, ds, lang)
    ax.set_xlabel(_t("date", lang))
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(_number_formatter(lang))
    _date_axis(ax, lang, time=_times(ds))
    _legend(ax)
    _decorate(fig, ds, _t(title_key, lang), lang)


def icu(ds: xr.Dataset, lang: Lang = "vi", size: PageSize = "a4-landscape") -> Figure:
    """ICU demand against staffed ICU beds, with the overflow shaded.

    Demand is ``census_icu + unmet_icu`` (critical patients in ICU or needing it without a bed); capacity
    is ``icu_staffed_available`` (ICU beds with enough health staff on the date).

    Parameters
    ----------
    ds : xarray.Dataset
        Results of one run with ``census_icu``, ``unmet_icu`` and ``icu_staffed_available``.
    lang, size
        As :func:`cases`.

    Returns
    -------
    matplotlib.figure.Figure
        Lines with gids ``"demand"``, ``"capacity"``; the shaded overflow has gid ``"overflow"``.
    """
    lang = _check_lang(lang)
    _require(ds, ["census_icu", "unmet_icu", "icu_staffed_available"], "icu")
    t = _times(ds)
    demand = (_series(ds, "census_icu") + _series(ds, "unmet_icu")).values
    cap = _series(ds, "icu_staffed_available").values
    first = first_over_capacity(ds["time"].values, demand, cap)
    with _rc():
        fig = _new_figure(size)
        ax = fig.add_subplot()
        labels = (_t("icu_demand", lang), _t("icu_staffed", lang), _t("icu_overflow", lang))
        _need_against_capacity(ax, t, demand, cap, labels, ("capacity", "overflow"), _t("beds_unit", lang), lang)
        if first is not None:
            _vline(
                ax,
                first,
                _C["overflow"],
                f"{_t('overflow_short', lang)}: {format_date(first, lang)}",
                "overflow_date",
                style=":",
            )
        _finish_beds_axes(fig, ax, ds, lang, "icu_title")
    return fig


def oxygen(ds: xr.Dataset, lang: Lang = "vi", size: PageSize = "a4-landscape") -> Figure:
    """Oxygen demand against supply in m³/day, cylinders/day on the right axis, unmet demand shaded.

    Parameters
    ----------
    ds : xarray.Dataset
        Results of one run with ``oxygen_demand_m3_per_day`` and ``oxygen_supply_m3_per_day``.
    lang, size
        As :func:`cases`.

    Returns
    -------
    matplotlib.figure.Figure
        Lines with gids ``"demand"`` and ``"supply"``; the shaded unmet demand has gid ``"unmet"``. The
        right axis converts m³ to cylinders of the run's size (``oxygen`` config section).
    """
    lang = _check_lang(lang)
    _require(ds, ["oxygen_demand_m3_per_day", "oxygen_supply_m3_per_day"], "oxygen")
    t = _times(ds)
    demand = _series(ds, "oxygen_demand_m3_per_day").values
    supply = _series(ds, "oxygen_supply_m3_per_day").values
    per_cyl = m3_per_cylinder(ds)
    m3 = "m³/ngày" if lang == "vi" else "m³/day"
    with _rc():
        fig = _new_figure(size)
        ax = fig.add_subplot()
        labels = (_t("oxygen_demand", lang), _t("oxygen_supply", lang), _t("oxygen_unmet", lang))
        _need_against_capacity(ax, t, demand, supply, labels, ("supply", "unmet"), m3, lang)
        peak = int(np.argmax(demand))
        ax.annotate(
            f"{format_number(demand[peak], lang, 0)} {m3}\n"
            f"≈ {format_number(demand[peak] / per_cyl, lang, 0)} " + ("bình/ngày" if lang == "vi" else "cylinders/day"),
            (t[peak], demand[peak]),
            xytext=(14, 4),
            textcoords="offset points",
            fontsize=9.5,
            color=_C["series"],
            va="bottom",
            bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
        )
        ax.set_ylabel(m3)
        _mark_activation(ax, ds, lang)
        ax.set_xlabel(_t("date", lang))
        ax.set_ylim(bottom=0, top=max(float(np.nanmax(demand)), float(np.nanmax(supply)), 1.0) * 1.15)
        ax.yaxis.set_major_formatter(_number_formatter(lang))
        sec = ax.secondary_yaxis("right", functions=(lambda x: x / per_cyl, lambda c: c * per_cyl))
        sec.set_ylabel(_t("cylinders_axis", lang).format(cyl=_cylinder_text(ds, lang)))
        sec.yaxis.set_major_formatter(_number_formatter(lang))
        sec.set_gid("cylinders_axis")
        _date_axis(ax, lang, time=_times(ds))
        _legend(ax)
        _decorate(fig, ds, _t("oxygen_title", lang), lang)
    return fig
