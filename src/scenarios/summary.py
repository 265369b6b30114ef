"""The few lines a planner reads first after a run, in Vietnamese or English.

:func:`summary` says, in the words of the surge plan: when the plan is activated and by which criterion,
when each resource runs out (ICU beds, medical oxygen, oxygen beds) and how many days that leaves after
activation, the peaks of need against capacity, and the epidemic itself (infections counted with
reinfections, said plainly). Dates are dd/mm/yyyy in Vietnamese, oxygen is in m³.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from .indicators import crossings
from .plots import RESOURCES, Lang, engine_label, first_over_capacity, format_date, format_number, kit
from .report import crossing_ranges, crossings_table, key_numbers
from .results import over_ages

__all__ = ["RESOURCES", "run_out_dates", "summary", "sweep_summary"]


_W: dict[str, dict[str, str]] = {
    "people": {"vi": "dân", "en": "people"},
    "engine": {"vi": "mô hình", "en": "model"},
    "plan": {
        "vi": "Các tiêu chí kích hoạt phương án ({name}): ngày đạt đầu tiên",
        "en": "Surge-plan activation criteria ({name}): first date met",
    },
    "days_met": {"vi": "{n} ngày đạt", "en": "met on {n} days"},
    "run_out_head": {
        "vi": "Ngày hết (nhu cầu vượt khả năng đáp ứng) và số ngày kể từ khi kích hoạt phương án:",
        "en": "Date each resource runs out (need above capacity) and days after the plan is activated:",
    },
    "icu": {"vi": "Giường hồi sức tích cực (ICU) có đủ nhân lực", "en": "ICU beds with enough staff"},
    "oxygen": {"vi": "Oxy y tế", "en": "Medical oxygen"},
    "beds": {"vi": "Giường điều trị có oxy (tầng 2)", "en": "Oxygen beds (tier 2)"},
    "enough": {"vi": "đủ trong thời gian mô phỏng", "en": "enough within the run"},
    "after": {"vi": "{n} ngày sau khi kích hoạt", "en": "{n} days after activation"},
    "before": {"vi": "{n} ngày TRƯỚC khi kích hoạt", "en": "{n} days BEFORE activation"},
    "same_day": {"vi": "ngay ngày kích hoạt", "en": "on the day of activation"},
    "not_activated": {"vi": "phương án chưa được kích hoạt", "en": "the plan is not activated"},
    "peak_oxygen": {
        "vi": "Nhu cầu oxy cao nhất: {v} m³/ngày (khoảng {c} bình/ngày) vào ngày {d}; nguồn cung {s} m³/ngày",
        "en": "Peak oxygen need: {v} m³/day (about {c} cylinders/day) on {d}; supply {s} m³/day",
    },
    "peak_icu": {
        "vi": "Số bệnh nhân cần hồi sức tích cực cao nhất: {v} vào ngày {d}; có {s} giường ICU đủ nhân lực",
        "en": "Most patients needing ICU at once: {v} on {d}; {s} ICU beds with enough staff",
    },
    "peak_beds": {
        "vi": "Số bệnh nhân cần giường có oxy cao nhất: {v} vào ngày {d}; có {s} giường có oxy",
        "en": "Most patients needing an oxygen bed at once: {v} on {d}; {s} oxygen beds",
    },
    "infections": {
        "vi": "Số lượt nhiễm: {n} lượt, bằng {p}% dân số. Một người nhiễm lại được tính thêm một lượt, "
        "nên con số này có thể vượt 100% dân số. Cao nhất {peak} lượt/ngày vào ngày {d}",
        "en": "Infections: {n}, equal to {p}% of the population. A person infected again counts again, "
        "so this can exceed 100% of the population. Highest {peak} a day on {d}",
    },
    "reported": {"vi": "Số ca mắc được báo cáo: {n}", "en": "Reported cases: {n}"},
    "deaths": {
        "vi": "Tử vong: {n}, trong đó do không được điều trị như cần (thiếu giường, oxy, ICU): {w}",
        "en": "Deaths: {n}, of which without the care they needed (no bed, oxygen or ICU): {w}",
    },
}


def _w(key: str, lang: Lang, **kw: object) -> str:
    return _W[key][lang].format(**kw)


def run_out_dates(ds: xr.Dataset) -> dict[str, pd.Timestamp | None]:
    """Return the first date each resource's need exceeds its capacity (None when it never does).

    Parameters
    ----------
    ds : xarray.Dataset
        Results of one run with the care variables.

    Returns
    -------
    dict
        ``{"icu": date, "oxygen": date, "beds": date}``, see :data:`RESOURCES`.
    """
    out: dict[str, pd.Timestamp | None] = {}
    for name, (demand_vars, capacity_var) in RESOURCES.items():
        if capacity_var not in ds or any(v not in ds for v in demand_vars):
            continue
        demand = sum(over_ages(ds[v]).values.astype(float) for v in demand_vars)
        capacity = over_ages(ds[capacity_var]).values.astype(float)
        out[name] = first_over_capacity(ds["time"].values, demand, capacity)
    return out


def _lead(run_out: pd.Timestamp | None, activation: object, lang: Lang) -> str:
    if run_out is None:
        return _w("enough", lang)
    date = format_date(run_out, lang)
    if pd.isna(activation):
        return f"{date} — {_w('not_activated', lang)}"
    days = int((pd.Timestamp(run_out) - pd.Timestamp(activation)).days)
    if days == 0:
        return f"{date} — {_w('same_day', lang)}"
    key = "after" if days > 0 else "before"
    return f"{date} — {_w(key, lang, n=format_number(abs(days), lang, 0))}"


def summary(ds: xr.Dataset, crossings_table_: pd.DataFrame | None = None, lang: Lang = "vi") -> str:
    """Describe a run in the planner's language: activation, run-out dates and lead times, peaks, epidemic.

    Parameters
    ----------
    ds : xarray.Dataset
        Results of one run.
    crossings_table_ : pandas.DataFrame, optional
        Its crossings table (computed when not given).
    lang : {"vi", "en"}
        Language; Vietnamese by default.

    Returns
    -------
    str
        Lines of plain text, no code names.

    Examples
    --------
    >>> import scenarios
    >>> cfg = scenarios.load_config("configs/phong_tho_new_variant.toml", overrides={"scenario.horizon_days": 60})
    >>> ds = scenarios.run(cfg)
    >>> "Oxy y tế" in summary(ds, lang="vi") and "Medical oxygen" in summary(ds, lang="en")
    True
    """
    lang = kit.check_lang(lang)
    table = crossings(ds) if crossings_table_ is None else crossings_table_
    a = ds.attrs
    pop = float(a["population_total"])
    engine = engine_label(str(a.get("engine", "")), lang)
    lines = [
        f"{a.get('scenario_name', '')} — {a.get('area_name', '')} ({format_number(pop, lang, 0)} "
        f"{_w('people', lang)}), {_w('engine', lang)} {engine}",
        _w("plan", lang, name=table.attrs.get("threshold_set", "")),
    ]
    shown = crossings_table(table, lang)
    for (_, r), (_, row) in zip(table.iterrows(), shown.iterrows(), strict=True):
        if r["kind"] not in ("criterion", "activation"):
            continue
        name, cond, first, days = row.iloc[0], row.iloc[1], row.iloc[2], row.iloc[3]
        lines.append(f"  {name} ({cond}): {first}, {_w('days_met', lang, n=days)}")
    activation = table.attrs.get("activation_date", pd.NaT)
    if "census_icu" in ds:
        lines.append(_w("run_out_head", lang))
        for name, date in run_out_dates(ds).items():
            lines.append(f"  {_w(name, lang)}: {_lead(date, activation, lang)}")
        lines += _peaks(ds, table, lang)
    lines += _epidemic(ds, pop, lang)
    return "\n".join(lines)


def _peaks(ds: xr.Dataset, table: pd.DataFrame, lang: Lang) -> list[str]:
    k = key_numbers(ds, table).set_index("key")
    v, d = k["value"], k["date"]

    def n(key: str) -> str:
        return format_number(round(float(v[key])), lang, 0)

    return [
        _w(
            "peak_oxygen",
            lang,
            v=n("peak_oxygen_demand_m3_per_day"),
            c=n("peak_oxygen_demand_cylinders_per_day"),
            d=format_date(d["peak_oxygen_demand_m3_per_day"], lang),
            s=n("oxygen_supply_at_peak_m3_per_day"),
        ),
        _w("peak_icu", lang, v=n("peak_icu_need"), d=format_date(d["peak_icu_need"], lang), s=n("icu_staffed_at_peak")),
        _w(
            "peak_beds",
            lang,
            v=n("peak_oxygen_bed_need"),
            d=format_date(d["peak_oxygen_bed_need"], lang),
            s=n("oxygen_beds_at_peak"),
        ),
        _w("deaths", lang, n=n("deaths"), w=n("deaths_without_care")),
    ]


def _epidemic(ds: xr.Dataset, pop: float, lang: Lang) -> list[str]:
    if "new_infections" not in ds:
        return []
    total = over_ages(ds["new_infections"])
    peak = int(np.argmax(total.values))
    n = float(total.sum())
    lines = [
        _w(
            "infections",
            lang,
            n=format_number(round(n), lang, 0),
            p=format_number(100 * n / pop, lang, 0 if n / pop >= 0.1 else 1),
            peak=format_number(round(float(total[peak])), lang, 0),
            d=format_date(ds["time"].values[peak], lang),
        )
    ]
    lines.append(
        _w("reported", lang, n=format_number(round(float(over_ages(ds["new_reported_cases"]).sum())), lang, 0))
    )
    return lines


def sweep_summary(ds: xr.Dataset, summary_table: pd.DataFrame, seed: int = 0, lang: Lang = "vi") -> str:
    """Describe many runs: per criterion, the share of runs crossing it and the range of first dates.

    Parameters
    ----------
    ds : xarray.Dataset
        Results with a ``replicate`` dim.
    summary_table : pandas.DataFrame
        From :func:`scenarios.ensemble.summarise_crossings`.
    seed : int
        The seed the runs were spawned from.
    lang : {"vi", "en"}
        Language.
    """
    lang = kit.check_lang(lang)
    a = ds.attrs
    n = int(ds.sizes.get("replicate", 1))
    engine = engine_label(str(a.get("engine", "")), lang)
    pop = format_number(float(a["population_total"]), lang, 0)
    runs = f"{n} lần chạy (seed {seed})" if lang == "vi" else f"{n} replicates (seed {seed})"
    lines = [f"{a.get('scenario_name', '')} — {a.get('area_name', '')} ({pop} {_w('people', lang)}), {engine}, {runs}"]
    ranges = crossing_ranges(summary_table, lang)
    for row in ranges.itertuples(index=False):
        name, share, median, spread = row
        lines.append(f"  {name}: {share}; {median} ({spread})")
    return "\n".join(lines)
