"""Figures of a fit and its forecast (vi/en, annex quality), drawn with the helpers of :mod:`scenarios.plots`.

matplotlib is imported inside the plotting helpers only.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from .. import plots as _p
from ..plots import kit
from .fit import fitted_config

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["crossing_probability_figure", "forecast_figure", "rt_figure"]

_TEXT = {
    "forecast_title": {
        "vi": "Ca mắc được báo cáo: số liệu, mô hình đã hiệu chỉnh và dự báo",
        "en": "Reported cases: data, fitted model and forecast",
    },
    "observed": {"vi": "số liệu báo cáo (ngày)", "en": "reported (daily)"},
    "median": {"vi": "trung vị mô hình", "en": "model median"},
    "band90": {"vi": "khoảng 90%", "en": "90% interval"},
    "band50": {"vi": "khoảng 50%", "en": "50% interval"},
    "cutoff": {"vi": "ngày số liệu cuối cùng", "en": "last data used"},
    "after": {"vi": "số liệu sau (không dùng để hiệu chỉnh)", "en": "later data (not used in the fit)"},
    "cases_day": {"vi": "ca/ngày", "en": "cases/day"},
    "rt_title": {
        "vi": "Hệ số lây nhiễm hiệu quả Rt (hậu nghiệm, chưa tính miễn dịch sau nhiễm)",
        "en": "Effective reproduction number Rt (posterior, before depletion of susceptibles)",
    },
    "not_converged": {
        "vi": "CẢNH BÁO: chuỗi mẫu chưa hội tụ — chưa nên trích dẫn ngày",
        "en": "WARNING: the sampler has not converged — do not quote dates yet",
    },
}


def _x(key: str, lang: str) -> str:
    return _TEXT[key][lang]


def _warn(fig: Figure, ds: xr.Dataset, lang: str) -> None:
    if not int(ds.attrs.get("converged", 1)):
        fig.text(0.99, 0.99, _x("not_converged", lang), ha="right", va="top", color="#b2182b", fontsize=10, gid="warn")


def forecast_figure(
    fc: xr.Dataset, observed: pd.DataFrame | None = None, lang: str = "vi", size: _p.PageSize = "a4-landscape"
) -> Figure:
    """Draw observed daily reported cases over the fitted and forecast bands (50% and 90%).

    Parameters
    ----------
    fc : xarray.Dataset
        A forecast from :func:`scenarios.forecast` (needs ``expected_reported_cases``).
    observed : DataFrame, optional
        Observed series (:func:`read_observed`); data after the last fitted date are drawn apart, to show
        the forecast against what happened next.
    lang : {"vi", "en"}
        Language of every label.
    size : page size
        As for :mod:`scenarios.plots` figures.
    """
    lang = kit.check_lang(lang)
    t = pd.DatetimeIndex(fc.time.values)
    q = fc["expected_reported_cases"].quantile([0.05, 0.25, 0.5, 0.75, 0.95], dim="draw").values
    cut = pd.Timestamp(fc.attrs["fit_until"])
    with kit.style():
        fig = kit.new_figure(size)
        ax = fig.add_subplot()
        ax.fill_between(t, q[0], q[4], color=kit.COLOURS["series"], alpha=0.18, lw=0, label=_x("band90", lang))
        ax.fill_between(t, q[1], q[3], color=kit.COLOURS["series"], alpha=0.35, lw=0, label=_x("band50", lang))
        ax.plot(t, q[2], color=kit.COLOURS["series"], lw=2, label=_x("median", lang), gid="median")
        if observed is not None and "reported_cases" in observed:
            y = observed["reported_cases"].reindex(t)
            before, after = y[y.index <= cut], y[y.index > cut]
            ax.plot(before.index, before.values, "o", ms=3, color="black", label=_x("observed", lang), gid="observed")
            ax.plot(
                after.index, after.values, "o", ms=3, mfc="none", color="black", label=_x("after", lang), gid="later"
            )
        kit.vline(ax, cut, kit.COLOURS["grey"], _x("cutoff", lang), "cutoff")
        ax.set_ylabel(_x("cases_day", lang))
        ax.set_xlabel(kit.words("date", lang))
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(kit.number_formatter(lang))
        kit.date_axis(ax, lang, time=t)
        kit.legend(ax)
        kit.decorate(fig, fc, _x("forecast_title", lang), lang)
        _warn(fig, fc, lang)
    return fig


def crossing_probability_figure(fc: xr.Dataset, lang: str = "vi", size: _p.PageSize = "a4-landscape") -> Figure:
    """Draw P(crossed by date) of each criterion of the plan, the activation and overflow, from a forecast.

    The figure of :func:`scenarios.plots.crossing_probability` (at least :data:`scenarios.plots.MIN_RUNS`
    draws), with the fit's last date marked and its convergence warning.
    """
    fig = _p.crossing_probability(fc, lang=lang, size=size)
    ax = fig.axes[0]
    kit.vline(ax, pd.Timestamp(fc.attrs["fit_until"]), kit.COLOURS["grey"], _x("cutoff", lang), "cutoff")
    kit.legend(ax)
    _warn(fig, fc, lang)
    return fig


def rt_over_time(post: xr.Dataset, draws: int = 400) -> xr.DataArray:
    """Posterior of Rt from the contact changes alone (day-0 Rt x ratios), dims (draw, time)."""
    from .fit import posterior_values
    from .model import Parameters, fit_knots

    config = fitted_config(post)
    knots = fit_knots(config)
    params = Parameters.of(config.calibration, len(knots))
    values = posterior_values(post, draws)
    start, end = config.scenario.start_date, dt.date.fromisoformat(post.attrs["fit_until"])
    dates = pd.date_range(start, end, freq="D")
    rt = np.repeat(params.get(values, "rt_start"), len(dates), axis=1)
    for k, d in enumerate(knots):
        rt[:, dates >= pd.Timestamp(d)] *= params.get(values, "rt_change")[:, k : k + 1]
    return xr.DataArray(rt, dims=("draw", "time"), coords={"time": dates}, attrs={"units": "1", "long_name": "Rt"})


def rt_figure(post: xr.Dataset, lang: str = "vi", size: _p.PageSize = "a4-landscape") -> Figure:
    """Draw the posterior median and 50%/90% bands of Rt over the fit window, with Rt = 1 marked."""
    lang = kit.check_lang(lang)
    rt = rt_over_time(post)
    q = rt.quantile([0.05, 0.25, 0.5, 0.75, 0.95], dim="draw").values
    t = pd.DatetimeIndex(rt.time.values)
    config = fitted_config(post)
    with kit.style():
        fig = kit.new_figure(size)
        ax = fig.add_subplot()
        ax.fill_between(
            t, q[0], q[4], step="post", color=kit.COLOURS["series"], alpha=0.18, lw=0, label=_x("band90", lang)
        )
        ax.fill_between(
            t, q[1], q[3], step="post", color=kit.COLOURS["series"], alpha=0.35, lw=0, label=_x("band50", lang)
        )
        ax.step(t, q[2], where="post", color=kit.COLOURS["series"], lw=2, label=_x("median", lang), gid="median")
        ax.axhline(1.0, color=kit.COLOURS["threshold"], ls="--", lw=1.4, label="Rt = 1", gid="threshold")
        ax.set_ylabel("Rt")
        ax.set_xlabel(kit.words("date", lang))
        ax.set_ylim(bottom=0)
        kit.date_axis(ax, lang, time=t)
        kit.legend(ax, loc="upper right")
        area = post.attrs.get("area", "")
        subtitle = f"{config.scenario.name} ({area})" if area else config.scenario.name
        data_file = post.attrs.get("source", "").replace("\\", "/").rsplit("/", 1)[-1]
        source = f"{kit.words('source', lang)}: {data_file}; {post.attrs['convergence_note']}"
        kit.decorate(fig, None, _x("rt_title", lang), lang, subtitle=subtitle, source=source)
        _warn(fig, post, lang)
    return fig
