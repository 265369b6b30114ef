"""A small results Dataset built by hand, with the variable names and attrs of a real run.

Used by the figure and report tests where the answer must be known independently of the model (threshold
crossing dates, bed exhaustion date, overflow), and until the care/indicator modules run inside
``scenarios.run``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from scenarios.config import AGE_GROUPS
from scenarios.config.surge import load_threshold_set
from scenarios.results import VARIABLES

POPULATION = 100_000.0
START = "2027-01-01"
N_DAYS = 120

M3_PER_CYLINDER = 40 * 150 / 1.01325 / 1000


def _attrs(name: str) -> dict:
    """The schema's metadata of a variable (units, long names, cell methods)."""
    return {k: v for k, v in VARIABLES[name].items() if k != "dims"}


def synthetic_results(
    peak: float = 1.0,
    threshold_set: str = "provincial_3984",
    surge_day: int = 70,
    name: str = "Tỉnh thử nghiệm — biến chủng mới",
) -> xr.Dataset:
    """A hand-made epidemic of ``N_DAYS`` days in 100,000 people; ``peak`` scales every flow and census.

    Daily reported cases follow a Gaussian bump (peak day 60), the oxygen and ICU census a delayed bump,
    capacity is flat except a surge step adding 20 oxygen beds on ``surge_day``.
    """
    t = np.arange(N_DAYS)
    shares = np.full(len(AGE_GROUPS), 1 / len(AGE_GROUPS))
    bump = lambda centre, width: np.exp(-(((t - centre) / width) ** 2))  # noqa: E731
    reported = 150.0 * peak * bump(60, 14)
    census_ox_need = 90.0 * peak * bump(68, 16)  # patients needing a tier-2 bed
    icu_need = 12.0 * peak * bump(70, 14)
    beds = np.where(t >= surge_day, 60.0, 40.0)
    icu_cap = np.full(N_DAYS, 8.0)
    census_ox = np.minimum(census_ox_need, beds)
    unmet_ox = census_ox_need - census_ox
    census_icu = np.minimum(icu_need, icu_cap)
    unmet_icu = icu_need - census_icu
    demand_m3 = (census_ox_need * 10 + icu_need * 30) * 1.44
    supply = np.full(N_DAYS, 1500.0)
    deaths = 0.02 * census_ox_need + 0.1 * icu_need
    deaths_without = 0.5 * unmet_icu + 0.1 * unmet_ox
    by_age = {
        "new_reported_cases": reported,
        "census_oxygen": census_ox,
        "unmet_oxygen": unmet_ox,
        "census_icu": census_icu,
        "unmet_icu": unmet_icu,
        "needing_oxygen": census_ox_need + icu_need,
        "deaths": deaths,
        "deaths_without_care": deaths_without,
    }
    scalar = {
        "beds_oxygen_available": beds,
        "icu_staffed_available": icu_cap,
        "beds_covid_free": np.maximum(beds - census_ox, 0) + np.maximum(icu_cap - census_icu, 0),
        "icu_staffed_free": np.maximum(icu_cap - census_icu, 0),
        "oxygen_demand_m3_per_day": demand_m3,
        "oxygen_supply_m3_per_day": supply,
        "oxygen_demand_cylinders_per_day": demand_m3 / M3_PER_CYLINDER,
    }
    time = np.datetime64(START) + t.astype("timedelta64[D]")
    data = {}
    for k, v in by_age.items():
        data[k] = (("time", "age_group"), np.outer(v, shares), _attrs(k))
    for k, v in scalar.items():
        data[k] = (("time",), v, _attrs(k))
    ds = xr.Dataset(data, coords={"time": time.astype("datetime64[ns]"), "age_group": list(AGE_GROUPS)})
    ds = ds.assign_coords(day=("time", t))
    ds.attrs.update(
        {
            "scenario_name": name,
            "area_name": "Tỉnh thử nghiệm",
            "population_total": POPULATION,
            "engine": "seir",
            "seed": "0",
            "version": "0.1.0",
            "created": "2026-11-23T10:00:00+00:00",
            "config_path": "configs/test_province.toml",
            "overrides": "{}",
            "threshold_set": load_threshold_set(threshold_set).model_dump_json(),
            "start_date": START,
        }
    )
    return ds


def expected_first_crossing(series: np.ndarray, op: str, value: float) -> int | None:
    """First index at which ``series op value`` holds: an independent reading of the plan's comparison."""
    ops = {">": np.greater, "≥": np.greater_equal, "<": np.less, "≤": np.less_equal}
    with np.errstate(invalid="ignore"):
        idx = np.flatnonzero(ops[op](series, value) & ~np.isnan(series))
    return int(idx[0]) if idx.size else None


def rolling7(x: np.ndarray) -> np.ndarray:
    """Sum of the 7 days ending on each day (NaN for the first 6): written independently of indicators.py."""
    c = np.concatenate([[0.0], np.cumsum(x)])
    out = np.full(len(x), np.nan)
    out[6:] = c[7:] - c[:-7]
    return out


__all__ = ["synthetic_results", "expected_first_crossing", "rolling7", "POPULATION"]
