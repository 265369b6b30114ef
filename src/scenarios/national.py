"""A national view of a sweep over provinces: when each would activate its plan, and how long before overflow.

Built on the per-province crossings summary of a sweep store (:func:`scenarios.distributed.summarise_store`):
one row per (what-if, province) with the activation date and the first date of overflow (5%, 50% and 95% of
the runs), the share of runs in which each happens within the horizon, and the lead time from activation to
overflow, ranked so the province that would act first, and the one with the shortest warning, come first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from .plots import Lang, format_number, kit, save, source_line
from .results import write_atomic

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["national_figure", "national_table", "write_national"]

_Q = ("q5", "q50", "q95")

_TEXT = {
    "title": {
        "vi": "Thứ tự các tỉnh kích hoạt phương án và thời gian trước khi quá tải",
        "en": "Provinces ranked by when they would activate the plan, and the warning before overflow",
    },
    "activation": {"vi": "Ngày kích hoạt phương án (5%–95% số lần chạy)", "en": "Plan activation date (5–95% of runs)"},
    "lead": {
        "vi": "Số ngày từ kích hoạt đến quá tải (5%–95%)",
        "en": "Days from activation to overflow (5–95%)",
    },
    "median": {"vi": "trung vị", "en": "median"},
    "overflow": {"vi": "ngày quá tải (trung vị)", "en": "overflow date (median)"},
    "never": {"vi": "không kích hoạt trong kỳ dự báo", "en": "not activated within the horizon"},
    "no_overflow": {"vi": "không quá tải trong kỳ dự báo", "en": "no overflow within the horizon"},
    "whatif": {"vi": "Kịch bản", "en": "What-if"},
    "runs": {"vi": "lần chạy", "en": "runs"},
}


def national_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Rank provinces by activation date and by lead time to overflow, with uncertainty.

    Parameters
    ----------
    summary : pandas.DataFrame
        From :func:`scenarios.distributed.summarise_store` (default quantiles 5%, 50%, 95%).

    Returns
    -------
    pandas.DataFrame
        One row per what-if and province: ``whatif, province, area_name, replicates, failed``;
        ``share_activated`` and ``activation_q5/q50/q95`` (dates the plan's activation rule is first met);
        ``share_overflow`` and ``overflow_q5/q50/q95`` (first date patients go without oxygen or ICU);
        ``lead_replicates`` and ``lead_days_q5/q50/q95`` (activation to overflow, in days);
        ``rank_activation`` (1 activates first; never within the horizon ranks last) and ``rank_lead``
        (1 has the shortest warning). Rows sorted by what-if, then ``rank_activation``.
    """
    need = {"province", "area_name", "scenario", "criterion", "share_crossed"}
    if summary.empty or not need <= set(summary.columns):
        raise ValueError("expected the summary of a sweep store (scenarios.distributed.summarise_store)")
    keys = ["scenario", "province", "area_name"]
    act = summary[summary["criterion"] == "activation"].set_index(keys)
    ovf = summary[summary["criterion"] == "overflow"].set_index(keys)
    out = pd.DataFrame(index=act.index)
    out["replicates"] = act["replicates"]
    out["failed"] = act["failed"] if "failed" in act else 0
    out["share_activated"] = act["share_crossed"]
    for q in _Q:
        out[f"activation_{q}"] = act[f"first_date_{q}"]
    out["share_overflow"] = ovf["share_crossed"].reindex(out.index)
    for q in _Q:
        out[f"overflow_{q}"] = ovf[f"first_date_{q}"].reindex(out.index)
    out["lead_replicates"] = act["lead_replicates"]
    for q in _Q:
        out[f"lead_days_{q}"] = act[f"lead_days_{q}"]
    out = out.reset_index().rename(columns={"scenario": "whatif"})
    by = out.groupby("whatif", sort=False)
    out["rank_activation"] = by["activation_q50"].rank(method="min", na_option="bottom").astype("Int64")
    lead = out["lead_days_q50"].astype("Float64")
    out["rank_lead"] = lead.groupby(out["whatif"], sort=False).rank(method="min", na_option="bottom").astype("Int64")
    order = {w: i for i, w in enumerate(out["whatif"].drop_duplicates())}
    out = out.sort_values(
        ["whatif", "rank_activation", "province"], key=lambda s: s.map(order) if s.name == "whatif" else s
    )
    return out.reset_index(drop=True)


def national_figure(
    table: pd.DataFrame, attrs: Mapping[str, Any], whatif: str | None = None, lang: Lang = "vi"
) -> Figure:
    """Draw the provinces of one what-if ranked by activation date, with the lead time to overflow beside.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`national_table`.
    attrs : mapping
        Attributes of the sweep store: ``start_date`` and ``end_date`` (the horizon) and, for the source
        line, version, engine, seed and threshold set.
    whatif : str, optional
        Which what-if; default the first.
    lang : {"vi", "en"}
        Language of the labels and of date and number formats.

    Returns
    -------
    matplotlib.figure.Figure
        A4 landscape (taller with many provinces): left, activation date (median and 5-95% of runs) with the
        median overflow date; right, days from activation to overflow.
    """
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    lang = kit.check_lang(lang)
    whatif = str(table["whatif"].iloc[0]) if whatif is None else whatif
    rows = table[table["whatif"] == whatif].sort_values("rank_activation")
    if rows.empty:
        raise ValueError(f"no what-if {whatif!r} in the table; allowed: {', '.join(table['whatif'].unique())}")
    n = len(rows)
    fig = Figure(figsize=(11.69, max(8.27, 2.2 + 0.32 * n)), dpi=100)
    fig.set_layout_engine("constrained")
    ax, ax_lead = fig.subplots(1, 2, sharey=True, width_ratios=(3, 2))
    y = np.arange(n)[::-1]

    def num(col: str) -> np.ndarray:
        return np.array([mdates.date2num(v) if pd.notna(v) else np.nan for v in rows[col]])

    lo, mid, hi = num("activation_q5"), num("activation_q50"), num("activation_q95")
    # A quantile beyond the share of runs that activate is "after the horizon": draw the bar to the axis end.
    start = mdates.date2num(pd.Timestamp(attrs["start_date"]))
    end = mdates.date2num(pd.Timestamp(attrs["end_date"]))
    ax.hlines(y, np.where(np.isnan(lo), end, lo), np.where(np.isnan(hi), end, hi), colors="#4477aa", lw=3)
    ax.plot(mid, y, "o", color="#223355", label=_TEXT["median"][lang])
    ax.plot(num("overflow_q50"), y, "x", color="#cc3311", ms=8, mew=2, label=_TEXT["overflow"][lang])
    for yi, m in zip(y, mid, strict=True):
        if np.isnan(m):
            ax.annotate(
                _TEXT["never"][lang],
                (end, yi),
                xytext=(-4, 0),
                textcoords="offset points",
                ha="right",
                va="center",
                fontsize=8,
                color="#555555",
            )
    kit.date_axis(ax, lang, maxticks=6)
    ax.set_xlim(start - 2, end + 2)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel(_TEXT["activation"][lang])
    ax.set_yticks(y, [f"{r.area_name} ({format_number(100 * r.share_activated, lang, 0)}%)" for r in rows.itertuples()])
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)

    llo, lmid, lhi = (rows[f"lead_days_{q}"].astype("Float64").to_numpy(dtype=float, na_value=np.nan) for q in _Q)
    ax_lead.hlines(y, llo, lhi, colors="#ee7733", lw=3)
    ax_lead.plot(lmid, y, "o", color="#883311")
    ax_lead.axvline(0, color="#555555", lw=0.8)
    for yi, m, lead in zip(y, mid, lmid, strict=True):
        if not np.isnan(m) and np.isnan(lead):
            ax_lead.annotate(_TEXT["no_overflow"][lang], (0, yi), xytext=(4, 0), textcoords="offset points",
                             va="center", fontsize=8, color="#555555")  # fmt: skip
    ax_lead.set_xlabel(_TEXT["lead"][lang])
    ax_lead.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_lead.xaxis.set_major_formatter(FuncFormatter(lambda x, _p: format_number(x, lang, 0)))
    ax_lead.grid(axis="x", alpha=0.3)

    runs = int(rows["replicates"].max())
    fig.suptitle(
        f"{_TEXT['title'][lang]}\n{_TEXT['whatif'][lang]}: {whatif} — {format_number(runs, lang, 0)} "
        f"{_TEXT['runs'][lang]}",
        fontsize=13,
        x=0.01,
        ha="left",
    )
    fig.text(0.01, 0.005, source_line(xr.Dataset(attrs=dict(attrs)), lang), fontsize=7, color="#555555", gid="source")
    fig.get_layout_engine().set(rect=(0.0, 0.03, 1.0, 0.97))
    return fig


def write_national(
    summary: pd.DataFrame, attrs: Mapping[str, Any], prefix: str | Path, lang: Lang = "vi"
) -> list[Path]:
    """Write the national table (CSV with a BOM, so Excel reads Vietnamese) and one figure per what-if.

    Files: ``<prefix>_provinces.csv`` and ``<prefix>_provinces[_<n>].png|pdf|svg`` (``_<n>`` from the second
    what-if on). Returns the files written.
    """
    prefix = Path(prefix)
    table = national_table(summary)
    csv = prefix.with_name(prefix.name + "_provinces.csv")
    written = [
        write_atomic(csv, lambda tmp: table.to_csv(tmp, index=False, encoding="utf-8-sig", date_format="%Y-%m-%d"))
    ]
    attrs = {**attrs, "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}  # date drawn
    for i, whatif in enumerate(table["whatif"].unique()):
        fig = national_figure(table, attrs, str(whatif), lang)
        written += save(fig, prefix.with_name(prefix.name + "_provinces" + (f"_{i + 1}" if i else "")))
    return written
