"""What the figures read from a results Dataset: one run's series, thresholds, measures, step-ups."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from .. import indicators as _ind
from ..results import over_ages

if TYPE_CHECKING:  # pragma: no cover
    from ..config.surge import ThresholdSet


#: Resource -> (need variables summed, capacity variable), in the order plans list them.
RESOURCES: dict[str, tuple[tuple[str, ...], str]] = {
    "icu": (("census_icu", "unmet_icu"), "icu_staffed_available"),
    "oxygen": (("oxygen_demand_m3_per_day",), "oxygen_supply_m3_per_day"),
    "beds": (("census_oxygen", "unmet_oxygen"), "beds_oxygen_available"),
}

#: Fewest runs a quantile band or a crossing probability is drawn from: fewer pretend to a precision they lack.
MIN_RUNS = 10


def _single(da: xr.DataArray, name: str) -> xr.DataArray:
    da = over_ages(da)
    extra = [d for d in da.dims if d != "time"]
    if extra:
        raise ValueError(
            f"{name!r} has dimensions {extra} besides time: pass one run (e.g. ds.isel(replicate=0)) "
            "or use plots.compare for several"
        )
    return da


def _series(ds: xr.Dataset, name: str) -> xr.DataArray | None:
    """One run's daily series of ``name`` (summed over age), or None when absent."""
    if name not in ds:
        return None
    return _single(ds[name], name)


def _require(ds: xr.Dataset, names: Iterable[str], figure: str) -> None:
    missing = [n for n in names if n not in ds]
    if missing:
        raise ValueError(
            f"plots.{figure} needs the results variables {', '.join(missing)}, which this Dataset does not "
            "have (results of a run with the care module)"
        )


def _times(ds: xr.Dataset) -> np.ndarray:
    return pd.to_datetime(ds["time"].values).to_pydatetime()


def threshold_set(ds: xr.Dataset) -> ThresholdSet:
    """Return the threshold set a run used (see :func:`scenarios.indicators.run_threshold_set`)."""
    return _ind.run_threshold_set(ds)


def measures(ds: xr.Dataset) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """List the contact measures in force during a run: dated interventions and triggered policies.

    Returns
    -------
    list of (name, first day, last day)
        Dated ``[[interventions]]`` clipped to the run, and each period a ``contacts`` policy was in force
        (``policy_in_force``), in date order.
    """
    t0, t1 = pd.Timestamp(ds["time"].values[0]), pd.Timestamp(ds["time"].values[-1])
    out = []
    try:
        config = json.loads(ds.attrs.get("config_json") or "{}")
    except ValueError:
        config = {}
    if config:
        for iv in config.get("interventions", []):
            start = pd.Timestamp(iv.get("start_date") or t0)
            end = pd.Timestamp(iv.get("end_date") or t1)
            if end >= t0 and start <= t1:
                out.append((str(iv.get("name", "")), max(start, t0), min(end, t1)))
    if "policy_in_force" in ds and "policy" in ds["policy_in_force"].dims:
        pif = ds["policy_in_force"]
        extra = [d for d in pif.dims if d not in ("time", "policy")]
        if not extra:
            times = pd.to_datetime(ds["time"].values)
            action = {p.get("name"): p.get("action") for p in config.get("policies", [])}
            for name in pif["policy"].values:
                # Surge steps and booster campaigns are not contact measures (surge steps show on the
                # capacity figures).
                if action.get(str(name), "contacts") != "contacts":
                    continue
                on = np.nan_to_num(pif.sel(policy=name).values) > 0
                edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(int), [0]])))
                for a, b in zip(edges[::2], edges[1::2], strict=True):
                    out.append((str(name), times[a], times[b - 1]))
    return sorted(out, key=lambda m: m[1])


def _criteria_rows(table: pd.DataFrame, indicator: str) -> pd.DataFrame:
    return table[(table["kind"] == "criterion") & (table["indicator"] == indicator)]


def first_over_capacity(times: np.ndarray, demand: np.ndarray, capacity: np.ndarray, tol: float = 1e-6) -> Any:
    """Return the first time demand exceeds capacity (beyond a relative ``tol``), or None if it never does."""
    over = demand > capacity + tol * np.maximum(1.0, capacity)
    idx = np.flatnonzero(over)
    return pd.Timestamp(times[idx[0]]) if idx.size else None


def _step_ups(capacity: np.ndarray) -> np.ndarray:
    """Days capacity jumps up (a surge step comes into service): more than 0.5 and 2% in one day."""
    prev, jump = capacity[:-1], np.diff(capacity)
    return np.flatnonzero((jump > 0.5) & (jump > 0.02 * np.abs(prev))) + 1


def m3_per_cylinder(ds: xr.Dataset) -> float:
    """Gas in one cylinder (m³), from the run's own demand in m³ and in cylinders, else from its config."""
    if "oxygen_demand_cylinders_per_day" in ds and "oxygen_demand_m3_per_day" in ds:
        m3 = _series(ds, "oxygen_demand_m3_per_day").values
        cyl = _series(ds, "oxygen_demand_cylinders_per_day").values
        ok = cyl > 0
        if ok.any():
            return float(np.median(m3[ok] / cyl[ok]))
    from ..capacity import cylinder_m3

    return cylinder_m3(_oxygen_config(ds))


def _oxygen_config(ds: xr.Dataset):
    """Return the run's ``[oxygen]`` section from its ``config_json`` attribute (defaults if absent or unreadable)."""
    from ..config.health import Oxygen

    if ds.attrs.get("config_json"):
        try:
            return Oxygen.model_validate(json.loads(ds.attrs["config_json"]).get("oxygen", {}))
        except ValueError:
            pass
    return Oxygen()


def _met_flags(v: np.ndarray, row: pd.Series) -> np.ndarray:
    holds = _ind.compare(v, row["operator"], float(row["threshold"]))
    return _ind.sustained(holds, int(row["sustained_days"]))


def _mdates_num(dates: pd.Series) -> np.ndarray:
    """Matplotlib date numbers (days since 1970-01-01) of timestamps, without importing matplotlib."""
    return (pd.to_datetime(dates).values.astype("datetime64[s]").astype(float)) / 86400.0


def _num_to_date(x: float) -> pd.Timestamp:
    return pd.Timestamp(round(x * 86400), unit="s").normalize()
