"""Surge-plan indicators, threshold evaluation, epidemic levels and crossing dates.

The indicators are those of the plans (``docs/design.md``), computed exactly as the plans define
them, per 100,000 population and over the 7 days ending on each date (see :data:`INDICATORS` and
``docs/indicators.md`` for the reading of each plan criterion):

==================================  ==================================================================
``cases_7d_per_100k``               reported cases by report date, sum of the 7 days ending on the date
``oxygen_patients_7d_avg_per_100k`` patients needing oxygen (oxygen ward + ICU, met or not), mean of 7 days
``free_covid_beds_per_100k``        COVID-19 beds available minus occupied, at the end of the date
``staffed_icu_beds_per_100k``       ICU beds with enough staff, on the date
``free_staffed_icu_beds_per_100k``  staffed ICU beds not occupied, at the end of the date
``deaths_7d_per_100k``              deaths, sum of the 7 days ending on the date
==================================  ==================================================================

A 7-day indicator is undefined (NaN) until 7 days of history exist (days 0-5 of a run), and a criterion on
an undefined indicator is not met. Everything here is pure numpy on arrays whose first axis is time, so
the same functions serve the daily loop (:class:`IndicatorTracker`, values for day ``t`` from days
``<= t`` only) and finished results (:func:`indicators_from_results`, :func:`crossings`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .config import Config, ConfigError
from .config.loader import OUTSIDE, inside
from .config.surge import (
    INDICATORS,
    Criterion,
    Levels,
    ThresholdSet,
    _looks_like_path,
    check_policies,
    load_threshold_set,
)
from .results import over_ages, write_csv

__all__ = [
    "INDICATORS",
    "RAW_INPUTS",
    "WINDOW_DAYS",
    "IndicatorTracker",
    "activation",
    "compare",
    "compute_indicators",
    "crossings",
    "evaluate",
    "met_from_the_start",
    "first_true",
    "format_crossings",
    "indicators_from_results",
    "levels_series",
    "per_100k",
    "rolling_mean",
    "rolling_sum",
    "run_threshold_set",
    "share_crossed",
    "sustained",
    "threshold_set_of",
    "write_crossings",
]

#: Length of the plans' rolling windows ("in the last week", "7-day average").
WINDOW_DAYS = 7

#: Daily series the indicators are computed from, and the results variable each is read from post hoc
#: (summed over ``age_group`` where it has one).
RAW_INPUTS: dict[str, str] = {
    "reported_cases": "new_reported_cases",
    "oxygen_patients": "needing_oxygen",
    "free_covid_beds": "beds_covid_free",
    "staffed_icu_beds": "icu_staffed_available",
    "free_staffed_icu_beds": "icu_staffed_free",
    "deaths": "deaths",
}

_SCALE = 100_000.0

#: The raw input each indicator is computed from.
SOURCE: dict[str, str] = {
    "cases_7d_per_100k": "reported_cases",
    "oxygen_patients_7d_avg_per_100k": "oxygen_patients",
    "free_covid_beds_per_100k": "free_covid_beds",
    "staffed_icu_beds_per_100k": "staffed_icu_beds",
    "free_staffed_icu_beds_per_100k": "free_staffed_icu_beds",
    "deaths_7d_per_100k": "deaths",
}


# ---------------------------------------------------------------------------------------------------
# Arithmetic on daily series


def rolling_sum(x: np.ndarray, window: int = WINDOW_DAYS, min_periods: int | None = None) -> np.ndarray:
    """Sum over the ``window`` days ending on each day (first axis is time).

    Parameters
    ----------
    x : ndarray, shape (n_days, ...)
        Daily values (a flow: cases or deaths per day).
    window : int
        Days in the window, the day itself included.
    min_periods : int, optional
        Days of history needed for a value; default ``window`` (earlier days give NaN). With fewer, the sum
        is over the days available (the run's world has nothing before day 0).

    Returns
    -------
    ndarray, same shape as ``x``
        ``out[t] = x[t - window + 1 : t + 1].sum(axis=0)``.

    Examples
    --------
    >>> rolling_sum(np.arange(9.0), window=3)
    array([nan, nan,  3.,  6.,  9., 12., 15., 18., 21.])
    """
    x = np.asarray(x, dtype=float)
    min_periods = window if min_periods is None else min_periods
    out = np.full(x.shape, np.nan)
    for t in range(x.shape[0]):
        if t + 1 >= min_periods:
            out[t] = _window_sum(x[max(0, t - window + 1) : t + 1])
    return out


def _window_sum(block: np.ndarray) -> np.ndarray:
    """Sum a window along time, in a fixed order (so the daily loop and post hoc agree to the last bit)."""
    total = np.zeros(block.shape[1:])
    for row in block:
        total = total + row
    return total


def rolling_mean(x: np.ndarray, window: int = WINDOW_DAYS, min_periods: int | None = None) -> np.ndarray:
    """Mean over the ``window`` days ending on each day: :func:`rolling_sum` over the days summed.

    Examples
    --------
    >>> rolling_mean(np.array([7.0, 7, 7, 14]), window=2)
    array([ nan,  7. ,  7. , 10.5])
    """
    x = np.asarray(x, dtype=float)
    n = np.minimum(np.arange(1, x.shape[0] + 1), window).reshape((-1,) + (1,) * (x.ndim - 1))
    return rolling_sum(x, window, min_periods) / n


def per_100k(x: np.ndarray | float, population: float) -> np.ndarray:
    """Rate per 100,000 population: ``x / population * 100000``.

    Examples
    --------
    >>> float(per_100k(45.0, 10_000))
    450.0
    """
    if not population > 0:
        raise ValueError(f"population must be positive (got {population!r})")
    # Multiply first: exact whenever the true rate is representable (450.0, not 450.00000000000006).
    return np.asarray(x, dtype=float) * _SCALE / float(population)


def compare(values: np.ndarray, operator: str, threshold: float) -> np.ndarray:
    """``values operator threshold`` elementwise; NaN (not yet defined) is never met.

    Parameters
    ----------
    values : ndarray
        Indicator values.
    operator : {">", "≥", "<", "≤", ">=", "<="}
        As written in the plan: ``>`` and ``<`` are strict, ``≥`` and ``≤`` include equality.
    threshold : float
        The plan's value.

    Examples
    --------
    >>> compare(np.array([449.0, 450.0, 451.0]), ">", 450).tolist()
    [False, False, True]
    >>> compare(np.array([449.0, 450.0, 451.0]), "≥", 450).tolist()
    [False, True, True]
    """
    v = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        match operator:
            case ">":
                out = v > threshold
            case "≥" | ">=":
                out = v >= threshold
            case "<":
                out = v < threshold
            case "≤" | "<=":
                out = v <= threshold
            case _:
                raise ValueError(f"unknown operator {operator!r}; allowed: >, ≥, <, ≤ (>=, <=)")
    return out & ~np.isnan(v)


def sustained(holds: np.ndarray, days: int) -> np.ndarray:
    """Whether a condition has held on each of the ``days`` days ending on each day (first axis time).

    Examples
    --------
    >>> sustained(np.array([1, 1, 0, 1, 1, 1, 1], bool), 3).tolist()
    [False, False, False, False, False, True, True]
    """
    holds = np.asarray(holds, dtype=bool)
    if days < 1:
        raise ValueError(f"days must be at least 1 (got {days})")
    run = np.zeros(holds.shape, dtype=int)
    count = np.zeros(holds.shape[1:], dtype=int)
    for t in range(holds.shape[0]):
        count = np.where(holds[t], count + 1, 0)
        run[t] = count
    return run >= days


def activation(met: np.ndarray, k: int) -> np.ndarray:
    """Whether at least ``k`` criteria are met on each date; ``met`` has shape (n_days, n_criteria, ...).

    ``k = 1`` is "any", ``k = n_criteria`` is "all" (see :attr:`ThresholdSet.k_needed`).
    """
    met = np.asarray(met, dtype=bool)
    return met.sum(axis=1) >= k


def first_true(flags: np.ndarray) -> int | None:
    """Index of the first True in a 1-D array, or None."""
    idx = np.flatnonzero(np.asarray(flags, dtype=bool))
    return int(idx[0]) if idx.size else None


# ---------------------------------------------------------------------------------------------------
# Indicators and their evaluation


def compute_indicators(raw: Mapping[str, np.ndarray], population: float) -> dict[str, np.ndarray]:
    """Compute the plan indicators from daily series (time on the first axis).

    Parameters
    ----------
    raw : mapping of str to ndarray, shape (n_days, ...)
        Keys of :data:`RAW_INPUTS`: ``reported_cases`` (reported that day), ``oxygen_patients`` (stock at the
        end of the day), ``free_covid_beds``, ``staffed_icu_beds``, ``free_staffed_icu_beds`` (stocks),
        ``deaths`` (that day). A missing key gives an all-NaN indicator (its criteria never met).
    population : float
        People in the area.

    Returns
    -------
    dict of str to ndarray, shape (n_days, ...)
        One entry per name of :data:`INDICATORS`.

    Examples
    --------
    >>> out = compute_indicators({"reported_cases": np.full(8, 10.0)}, population=10_000)
    >>> out["cases_7d_per_100k"][-2:].tolist()
    [700.0, 700.0]
    """
    shape = next((np.shape(v) for v in raw.values()), (0,))

    def get(key: str) -> np.ndarray:
        return np.asarray(raw[key], dtype=float) if key in raw else np.full(shape, np.nan)

    return {
        "cases_7d_per_100k": per_100k(rolling_sum(get("reported_cases")), population),
        "oxygen_patients_7d_avg_per_100k": per_100k(rolling_mean(get("oxygen_patients")), population),
        "free_covid_beds_per_100k": per_100k(get("free_covid_beds"), population),
        "staffed_icu_beds_per_100k": per_100k(get("staffed_icu_beds"), population),
        "free_staffed_icu_beds_per_100k": per_100k(get("free_staffed_icu_beds"), population),
        "deaths_7d_per_100k": per_100k(rolling_sum(get("deaths")), population),
    }


def criterion_met(values: Mapping[str, np.ndarray], criterion: Criterion) -> np.ndarray:
    """Days a criterion is met: its comparison has held on ``sustained_days`` days in a row."""
    return sustained(
        compare(values[criterion.indicator], criterion.operator, criterion.value), criterion.sustained_days
    )


def evaluate(values: Mapping[str, np.ndarray], thresholds: ThresholdSet) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate a threshold set on indicator series.

    Parameters
    ----------
    values : mapping of str to ndarray, shape (n_days, ...)
        Indicator series by name (from :func:`compute_indicators`).
    thresholds : ThresholdSet
        Criteria and activation rule.

    Returns
    -------
    met : ndarray of bool, shape (n_days, n_criteria, ...)
        Whether each criterion is met on each date (sustained logic applied).
    activated : ndarray of bool, shape (n_days, ...)
        Whether the activation rule holds on each date, counting criteria met from the start only after
        they have stopped holding (:func:`met_from_the_start`).
    """
    met = np.stack([criterion_met(values, c) for c in thresholds.criteria], axis=1)
    return met, activation(met & ~met_from_the_start(values, thresholds), thresholds.k_needed)


def met_from_the_start(values: Mapping[str, np.ndarray], thresholds: ThresholdSet) -> np.ndarray:
    """Dates in the leading run over which each criterion's comparison has held since the first date.

    A criterion met from the start (e.g. too few staffed ICU beds for the plan's ratio before anyone is ill)
    is a finding about capacity, not a trigger: activation and lead times count it only once it has stopped
    holding and holds again.

    Returns
    -------
    ndarray of bool, shape (n_days, n_criteria, ...)
    """
    holds = np.stack([compare(values[c.indicator], c.operator, c.value) for c in thresholds.criteria], axis=1)
    return np.logical_and.accumulate(holds, axis=0)


def levels_series(values: Mapping[str, np.ndarray], levels: Levels) -> np.ndarray:
    """Epidemic level of each date: the highest level whose criteria are met (any/all), else the lowest."""
    shape = np.shape(next(iter(values.values())))
    out = np.full(shape, levels.lowest, dtype=int)
    for lv in sorted(levels.level, key=lambda lv: lv.level):
        each = np.stack([criterion_met(values, c) for c in lv.criteria])
        reached = each.all(axis=0) if lv.rule == "all" else each.any(axis=0)
        out = np.where(reached, lv.level, out)
    return out


class IndicatorTracker:
    """Indicators, criteria, activation and level computed day by day inside the daily loop.

    Values for day ``t`` use only days ``<= t`` and equal what :func:`compute_indicators` and
    :func:`evaluate` give on the finished series.

    Parameters
    ----------
    n_days : int
        Days in the run.
    population : float
        People in the area.
    thresholds : ThresholdSet
        The plan's criteria.
    levels : Levels, optional
        Epidemic level table.
    members : int, optional
        Track that many runs at once (an ensemble): raw values, indicators, criteria and levels then have a
        member axis after time, and :meth:`update` returns arrays by member instead of Python scalars.
    """

    def __init__(
        self,
        n_days: int,
        population: float,
        thresholds: ThresholdSet,
        levels: Levels | None = None,
        members: int | None = None,
    ):
        self.population, self.thresholds, self.levels = float(population), thresholds, levels
        self.members = members
        m = () if members is None else (members,)
        self.raw = {key: np.full((n_days, *m), np.nan) for key in RAW_INPUTS}
        self.values = {name: np.full((n_days, *m), np.nan) for name in INDICATORS}
        self.met = np.zeros((n_days, len(thresholds.criteria), *m), dtype=bool)
        self.activated = np.zeros((n_days, *m), dtype=bool)
        self.level = np.full((n_days, *m), levels.lowest if levels else 0, dtype=int)
        # Days in a row each comparison has held, for sustained criteria (set's, then the levels').
        self._level_criteria = [c for lv in levels.level for c in lv.criteria] if levels else []
        self._run = np.zeros((len(thresholds.criteria) + len(self._level_criteria), *m), dtype=int)
        # Whether each criterion's comparison has held on every date so far (met from the start).
        self._from_start = np.ones((len(thresholds.criteria), *m), dtype=bool)

    def update(self, day: int, **raw: float) -> dict[str, Any]:
        """Record day ``day``'s raw values (keys of :data:`RAW_INPUTS`) and evaluate the day.

        Returns
        -------
        dict
            ``values`` (indicator name -> value), ``met`` (criterion name -> bool), ``activation`` (bool),
            ``level`` (int, or None without a level table): the states policies trigger on.
        """
        unknown = set(raw) - set(RAW_INPUTS)
        if unknown:
            raise KeyError(f"unknown indicator inputs {sorted(unknown)}; allowed: {', '.join(RAW_INPUTS)}")
        for key, value in raw.items():
            self.raw[key][day] = value
        lo = max(0, day - WINDOW_DAYS + 1)
        window = {key: series[lo : day + 1] for key, series in self.raw.items()}
        today = {name: series[-1] for name, series in compute_indicators(window, self.population).items()}
        for name, value in today.items():
            self.values[name][day] = value
        met_all = []
        for i, c in enumerate((*self.thresholds.criteria, *self._level_criteria)):
            holds = compare(today[c.indicator], c.operator, c.value)
            self._run[i] = np.where(holds, self._run[i] + 1, 0)
            met_all.append(self._run[i] >= c.sustained_days)
        n_set = len(self.thresholds.criteria)
        self.met[day] = met_all[:n_set]
        self._from_start &= self._run[:n_set] > 0
        changed = self.met[day] & ~self._from_start
        self.activated[day] = changed.sum(axis=0) >= self.thresholds.k_needed
        if self.levels is not None:
            level_met = iter(met_all[n_set:])
            for lv in self.levels.level:
                flags = np.array([next(level_met) for _ in lv.criteria])
                reached = flags.all(axis=0) if lv.rule == "all" else flags.any(axis=0)
                self.level[day] = np.where(reached & (lv.level > self.level[day]), lv.level, self.level[day])
        if self.members is not None:
            return {
                "values": today,
                "met": {c.name: changed[i] for i, c in enumerate(self.thresholds.criteria)},
                "activation": self.activated[day],
                "level": self.level[day] if self.levels is not None else None,
            }
        return {
            "values": today,
            "met": {c.name: bool(changed[i]) for i, c in enumerate(self.thresholds.criteria)},
            "activation": bool(self.activated[day]),
            "level": int(self.level[day]) if self.levels is not None else None,
        }

    def update_from(self, day: int, variables: Mapping[str, Any]) -> dict[str, Any]:
        """:meth:`update` from the day's results variables (names of :data:`RAW_INPUTS` values).

        Variables by age are summed; variables absent today leave their indicators undefined.
        """
        if self.members is None:
            raw = {key: float(np.sum(variables[var])) for key, var in RAW_INPUTS.items() if var in variables}
        else:  # sum over ages, member by member
            raw = {
                key: np.asarray(variables[var]).reshape(self.members, -1).sum(axis=1)
                for key, var in RAW_INPUTS.items()
                if var in variables
            }
        return self.update(day, **raw)

    def record(self, day: int) -> dict[str, Any]:
        """Day ``day``'s values for the results (names declared in ``results.VARIABLES``).

        Indicators whose input the run does not give on day 0 (e.g. bed counts without the care module) are
        left out, so the results hold no all-empty variables.
        """
        given = {key for key, series in self.raw.items() if not np.isnan(series[0]).all()}  # same set every day
        out: dict[str, Any] = {name: self.values[name][day] for name in INDICATORS if SOURCE[name] in given}
        out["criterion_met"] = np.moveaxis(self.met[day], 0, -1).astype(float)  # (member,) criterion
        out["plan_activated"] = self.activated[day].astype(float)
        if self.levels is not None:
            out["epidemic_level"] = self.level[day].astype(float)
        return out

    @property
    def coords(self) -> dict[str, list[str]]:
        """Labels of the ``criterion`` dimension."""
        return {"criterion": [c.name for c in self.thresholds.criteria]}

    def static(self) -> dict[str, xr.DataArray]:
        """Per-criterion metadata for the results: indicator, operator, threshold, sustained days."""
        crit = self.thresholds.criteria
        return {
            "criterion_indicator": xr.DataArray([c.indicator for c in crit], dims="criterion"),
            "criterion_operator": xr.DataArray([c.operator for c in crit], dims="criterion"),
            "criterion_threshold": xr.DataArray(
                [c.value for c in crit], dims="criterion", attrs={"units": "as the indicator"}
            ),
            "criterion_sustained_days": xr.DataArray(
                [c.sustained_days for c in crit], dims="criterion", attrs={"units": "days"}
            ),
        }

    def attrs(self) -> dict[str, str]:
        """Return the threshold set and level table as JSON for ``ds.attrs`` (read by :func:`crossings`)."""
        return {
            "threshold_set": self.thresholds.model_dump_json(),
            "levels": self.levels.model_dump_json() if self.levels is not None else "",
        }


def threshold_set_of(config: Config) -> ThresholdSet:
    """Resolve the threshold set a config uses (a relative file is read beside the config file).

    Also checks that every policy's trigger names ``activation``, a criterion of the set, or a level, and
    that every ``surge`` policy names a configured surge step.

    Raises
    ------
    ConfigError
        Naming the config file and the field (``thresholds`` or ``policies.N.trigger``).
    """
    path = config.provenance.get("config_path", "")
    where = path or "config"
    if path and config.thresholds.inline is None and _looks_like_path(config.thresholds.set):
        roots = [Path(r) for r in json.loads(config.provenance.get("allowed_dirs") or "[]")] or [Path(path).parent]
        try:
            target = (Path(path).parent / config.thresholds.set).resolve()
        except (OSError, ValueError, RuntimeError) as e:
            raise ConfigError([f"{where}: thresholds.set: cannot follow {config.thresholds.set!r}: {e}"]) from None
        if not inside(target, roots):
            raise ConfigError(
                [f"{where}: thresholds.set: {config.thresholds.set!r} lies outside {roots[0]}; {OUTSIDE}"]
            )
    try:
        ts = config.thresholds.resolve(Path(path).parent if path else None)
    except ValueError as e:
        raise ConfigError([f"{where}: thresholds: {e}"]) from None
    try:
        steps = tuple(s.name for s in config.capacity.surge) if hasattr(config, "capacity") else None
        check_policies(config.policies, ts, config.levels, steps)
    except ValueError as e:
        raise ConfigError([f"{where}: {e}"]) from None
    return ts


# ---------------------------------------------------------------------------------------------------
# Finished results


def _raw_from_results(ds: xr.Dataset) -> dict[str, xr.DataArray]:
    out = {}
    for key, var in RAW_INPUTS.items():
        if var in ds:
            da = ds[var]
            out[key] = over_ages(da)
    return out


def _population(ds: xr.Dataset) -> float:
    if "population_total" in ds.attrs:
        return float(ds.attrs["population_total"])
    if "population" in ds:
        return float(over_ages(ds["population"]))
    raise ValueError("results have no 'population_total' attribute or 'population' variable")


def indicators_from_results(ds: xr.Dataset) -> xr.Dataset:
    """Compute the plan indicators from a finished results Dataset (any extra dims, e.g. ``replicate``).

    Indicators recorded by the daily loop are returned as they are; the others are computed from the
    raw variables named in :data:`RAW_INPUTS` (NaN when a variable is absent).
    """
    pop = _population(ds)
    raw = _raw_from_results(ds)
    present = [ds[n] for n in INDICATORS if n in ds] + list(raw.values())
    if not present:
        raise ValueError("results have neither indicator variables nor any of: " + ", ".join(RAW_INPUTS.values()))
    template = xr.zeros_like(sum(xr.broadcast(*present)[:1], start=0.0))
    dims = ("time", *[d for d in template.dims if d != "time"])
    template = template.transpose(*dims)
    out = {}
    missing = [name for name in INDICATORS if name not in ds]
    if missing:
        arrays = {k: v.broadcast_like(template).transpose(*dims).values for k, v in raw.items()}
        if not arrays:
            arrays = {"reported_cases": np.full(template.shape, np.nan)}
        computed = compute_indicators(arrays, pop)
        for name in missing:
            out[name] = xr.DataArray(
                computed[name],
                dims=dims,
                coords={d: template[d] for d in dims if d in template.coords},
                attrs={"units": INDICATORS[name][1], "long_name": INDICATORS[name][0]},
            )
    for name in INDICATORS:
        if name in ds:
            out[name] = ds[name]
    return xr.Dataset(out)


def run_threshold_set(ds: xr.Dataset) -> ThresholdSet:
    """Return the threshold set a run used: ``attrs["threshold_set"]``, else its config's, else the default."""
    if ds.attrs.get("threshold_set"):
        return ThresholdSet.model_validate(json.loads(ds.attrs["threshold_set"]))
    if ds.attrs.get("config_json"):  # results written before runs recorded their set
        try:
            cfg = Config.model_validate_json(ds.attrs["config_json"])
            base = Path(ds.attrs["config_path"]).parent if ds.attrs.get("config_path") else None
            return cfg.thresholds.resolve(base)
        except (ValueError, OSError):
            pass
    return load_threshold_set("provincial_3984")


def _resolve_thresholds(ds: xr.Dataset, thresholds: ThresholdSet | str | dict | None) -> ThresholdSet:
    return run_threshold_set(ds) if thresholds is None else load_threshold_set(thresholds)


def _date(time: np.ndarray, i: int | None) -> Any:
    return pd.NaT if i is None else pd.Timestamp(time[i])


def _rule_text(ts: ThresholdSet) -> str:
    return {"any": "any", "all": "all"}.get(ts.activation, f"{ts.k} of {len(ts.criteria)}")


def _one_table(
    values: Mapping[str, np.ndarray],
    unmet_oxygen: np.ndarray | None,
    unmet_icu: np.ndarray | None,
    time: np.ndarray,
    ts: ThresholdSet,
    levels: Levels | None,
    overflow_above: float,
) -> pd.DataFrame:
    """Crossings of one run: series are 1-D over time."""
    met, activated = evaluate(values, ts)
    from_start = met_from_the_start(values, ts)
    rows = []

    def row(kind, name, indicator, op, threshold, unit, sustained_days, flags, note="", start=None):
        idx = np.flatnonzero(flags)
        crossed = np.flatnonzero(flags & ~start) if start is not None else idx
        first = int(crossed[0]) if crossed.size else None
        last = int(idx[-1]) if idx.size else None
        status = "crossed" if first is not None else "not crossed"
        if note.startswith("no data"):
            status = "no data"
        elif start is not None and start[:1].any():
            status = "met from the start"
        rows.append(
            {
                "kind": kind,
                "criterion": name,
                "indicator": indicator,
                "operator": op,
                "threshold": float(threshold),
                "unit": unit,
                "sustained_days": sustained_days,
                "first_date": _date(time, first),
                "first_day": first,
                "last_date": _date(time, last),
                "last_day": last,
                "days_met": int(idx.size),
                "note": note,
                "status": status,
            }
        )

    for i, c in enumerate(ts.criteria):
        note = ""
        if np.isnan(values[c.indicator]).all():
            note = "no data: indicator not in results"
        elif from_start[:1, i].any():
            note = "met from the start: a finding about the baseline (e.g. capacity), not a trigger"
        row(
            "criterion",
            c.name,
            c.indicator,
            c.operator,
            c.value,
            c.unit or INDICATORS[c.indicator][1],
            c.sustained_days,
            met[:, i],
            note,
            from_start[:, i],
        )
    row(
        "activation",
        "activation",
        "",
        _rule_text(ts),
        ts.k_needed,
        "criteria met on the same date",
        1,
        activated,
    )
    if levels is not None:
        lv = levels_series(values, levels)
        for level in sorted(levels.level, key=lambda x: x.level):
            row(
                "level",
                f"level {level.level}",
                "epidemic_level",
                "≥",
                level.level,
                level.name or "level",
                1,
                lv >= level.level,
            )
    overflow_parts = []
    for name, series in (("overflow_oxygen", unmet_oxygen), ("overflow_icu", unmet_icu)):
        if series is not None:
            flags = compare(series, ">", overflow_above)
            overflow_parts.append(flags)
            var = "unmet_" + name.removeprefix("overflow_")
            row("overflow", name, var, ">", overflow_above, "patients", 1, flags)
    if overflow_parts:
        row(
            "overflow",
            "overflow",
            "unmet_oxygen + unmet_icu",
            ">",
            overflow_above,
            "patients",
            1,
            np.logical_or.reduce(overflow_parts),
        )
    df = pd.DataFrame(rows)
    df["first_day"] = df["first_day"].astype("Int64")
    df["last_day"] = df["last_day"].astype("Int64")
    crit = df["kind"] == "criterion"
    df["rank"] = pd.array([pd.NA] * len(df), dtype="Int64")
    df.loc[crit, "rank"] = df.loc[crit, "first_day"].astype("Float64").rank(method="min").astype("Int64")
    overflow_day = df.loc[df["criterion"] == "overflow", "first_day"]
    overflow_day = overflow_day.iloc[0] if len(overflow_day) else pd.NA
    lead = (overflow_day - df["first_day"]) if overflow_day is not pd.NA else pd.Series(pd.NA, index=df.index)
    df["lead_days"] = pd.array(lead, dtype="Int64")
    df.loc[df["kind"] == "overflow", "lead_days"] = pd.NA
    for col in ("first_date", "last_date"):
        df[col] = pd.to_datetime(df[col])
    return df[CROSSING_COLUMNS]


#: Columns of :func:`crossings`, in order.
CROSSING_COLUMNS = [
    "kind",
    "criterion",
    "indicator",
    "operator",
    "threshold",
    "unit",
    "sustained_days",
    "first_date",
    "first_day",
    "last_date",
    "last_day",
    "days_met",
    "rank",
    "lead_days",
    "note",
    "status",
]


def crossings(
    ds: xr.Dataset,
    thresholds: ThresholdSet | str | dict | None = None,
    levels: Levels | None = None,
    overflow_above: float = 0.0,
) -> pd.DataFrame:
    """When the plan's thresholds are crossed, which first, and how long before care runs out.

    Parameters
    ----------
    ds : xarray.Dataset
        Results of :func:`scenarios.run` (or an ensemble of them: extra dims such as ``scenario`` and
        ``replicate`` give one block of rows each, labelled by extra columns).
    thresholds : ThresholdSet, str or dict, optional
        Evaluate another threshold set (shipped name, file path or table); default the set the run used
        (``ds.attrs["threshold_set"]``), else its config's, else ``provincial_3984``.
    levels : Levels, optional
        Level table for ``level`` rows; default the run's (``ds.attrs["levels"]``), if any.
    overflow_above : float
        Patients without the oxygen or ICU care they need above which a date counts as overflow (people).

    Returns
    -------
    pandas.DataFrame
        One row per criterion (``kind = "criterion"``, in the plan's order), then the plan's
        ``activation``, then ``level N`` rows (with a level table), then ``overflow_oxygen``,
        ``overflow_icu`` and ``overflow`` (either) when the results have ``unmet_oxygen``/``unmet_icu``.
        Columns: ``kind, criterion, indicator, operator, threshold, unit, sustained_days,
        first_date, first_day, last_date, last_day, days_met, rank, lead_days, note, status``. ``first_date``
        is the first date the criterion becomes met during the run (NaT and ``<NA>`` when never);
        ``days_met`` counts the dates it is met; ``note`` says when an indicator is missing from the results
        (then never met); ``status`` is ``crossed``, ``not crossed``, ``no data`` or ``met from the start``
        (its comparison holds on the first date: a finding about the baseline, such as capacity below the
        plan's ratio, that counts for activation, rank and lead time only once it stops holding and holds
        again, see :func:`met_from_the_start`);
        ``rank`` orders the criteria by first date (1 fires first, ties share a rank);
        ``lead_days`` is the days from ``first_date`` to the first day of overflow (the warning window;
        negative when overflow comes first). ``df.attrs`` holds ``activation_date``,
        ``first_criterion``, ``overflow_date`` and ``lead_days`` of the activation (single runs).

    Examples
    --------
    >>> import xarray as xr, numpy as np
    >>> t = np.arange("2026-01-01", "2026-01-21", dtype="datetime64[D]")
    >>> ds = xr.Dataset({"cases_7d_per_100k": ("time", np.linspace(0, 950, 20))}, coords={"time": t},
    ...                 attrs={"population_total": 100_000})
    >>> df = crossings(ds)
    >>> row = df.iloc[0]
    >>> row["criterion"], row["operator"], str(row["first_date"].date()), int(row["first_day"])
    ('cases', '>', '2026-01-11', 10)
    """
    ts = _resolve_thresholds(ds, thresholds)
    if levels is None and ds.attrs.get("levels"):
        levels = Levels.model_validate(json.loads(ds.attrs["levels"]))
    ind = indicators_from_results(ds)
    time = ds["time"].values
    unmet = {k: ds[f"unmet_{k}"] for k in ("oxygen", "icu") if f"unmet_{k}" in ds}
    unmet = {k: over_ages(v) for k, v in unmet.items()}
    extra = [d for d in ind.dims if d != "time"]
    if extra:
        stacked_ind = ind.stack(_run=extra).transpose("time", "_run")
        stacked_unmet = {
            k: v.broadcast_like(ind[next(iter(ind.data_vars))]).stack(_run=extra).transpose("time", "_run")
            for k, v in unmet.items()
        }
        tables = []
        for j, label in enumerate(stacked_ind["_run"].values):
            values = {n: stacked_ind[n].values[:, j] for n in INDICATORS}
            t = _one_table(
                values,
                *(stacked_unmet[k].values[:, j] if k in stacked_unmet else None for k in ("oxygen", "icu")),
                time,
                ts,
                levels,
                overflow_above,
            )
            label = label if isinstance(label, tuple) else (label,)
            for d, v in reversed(list(zip(extra, label, strict=True))):
                t.insert(0, d, v)
            tables.append(t)
        return pd.concat(tables, ignore_index=True)
    values = {n: ind[n].values for n in INDICATORS}
    df = _one_table(
        values,
        *(unmet[k].values if k in unmet else None for k in ("oxygen", "icu")),
        time,
        ts,
        levels,
        overflow_above,
    )
    act = df[df["criterion"] == "activation"].iloc[0]
    crit = df[(df["kind"] == "criterion") & (df["rank"] == 1)]
    ovf = df[df["criterion"] == "overflow"]
    df.attrs.update(
        threshold_set=ts.name,
        activation_date=act["first_date"],
        first_criterion=", ".join(crit["criterion"]) if len(crit) else None,
        overflow_date=ovf["first_date"].iloc[0] if len(ovf) else pd.NaT,
        lead_days=act["lead_days"],
    )
    return df


def threshold_set_attr(ts: ThresholdSet) -> str:
    """Return the threshold set as JSON text, for ``ds.attrs["threshold_set"]``."""
    return ts.model_dump_json()


def format_crossings(df: pd.DataFrame) -> str:
    """Format the crossings table as the few lines a planner reads first (the CLI summary leads with it).

    Parameters
    ----------
    df : pandas.DataFrame
        A single run's table from :func:`crossings`.
    """

    def when(r: pd.Series) -> str:
        if pd.isna(r["first_day"]):
            return "met from the start, not a trigger" if r.get("status") == "met from the start" else "not crossed"
        return f"{r['first_date']:%Y-%m-%d} (day {r['first_day']})"

    name = df.attrs.get("threshold_set", "")
    lines = [f"surge-plan thresholds ({name}): first date met, days met, days before overflow"]
    for _, r in df[df["kind"].isin(["criterion", "activation", "level"])].iterrows():
        rule = (
            f"{r['indicator']} {r['operator']} {r['threshold']:g}"
            if r["kind"] == "criterion"
            else f"{r['operator']} of the criteria"
            if r["kind"] == "activation"
            else f"epidemic level ≥ {r['threshold']:g}"
        )
        if r["kind"] == "criterion" and r["sustained_days"] > 1:
            rule += f" for {r['sustained_days']} days"
        lead = "" if pd.isna(r["lead_days"]) else f", {_before(r['lead_days'])}"
        note = f"  [{r['note']}]" if r.get("note") else ""
        lines.append(f"  {r['criterion']:<12} {rule:<48} {when(r)}, met {_days(r['days_met'])}{lead}{note}")
    ovf = df[df["criterion"] == "overflow"]
    if len(ovf):
        rule = "patients without oxygen or ICU care > 0"
        lines.append(f"  {'overflow':<12} {rule:<48} {when(ovf.iloc[0])}")
    act = df[df["criterion"] == "activation"].iloc[0]
    first = df.attrs.get("first_criterion")
    if pd.isna(act["first_day"]):
        lines.append("  -> the plan's thresholds are not reached in this run")
    else:
        tail = f", {_before(act['lead_days'])}" if not pd.isna(act["lead_days"]) else ", with no overflow in the run"
        lines.append(f"  -> plan activated on {act['first_date']:%Y-%m-%d} (first: {first}){tail}")
    return "\n".join(lines)


def _days(n: int) -> str:
    return f"{n} day" if abs(n) == 1 else f"{n} days"


def _before(lead: int) -> str:
    if lead == 0:
        return "on the first day of overflow"
    return f"{_days(lead)} before overflow" if lead > 0 else f"{_days(-lead)} after overflow began"


def write_crossings(df: pd.DataFrame, path: str | Path) -> Path:
    """Write the crossings table as CSV (UTF-8 with BOM, dates as YYYY-MM-DD, empty when never met), atomically."""
    return write_csv(df, path)


def share_crossed(table: pd.DataFrame, times: Any, n: int) -> xr.DataArray:
    """Return the share of ``n`` runs whose first date is on or before each of ``times``, per criterion.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`crossings` of ``n`` runs (one row per run and criterion; ``first_date`` NaT when never met).
    times : sequence of dates
        The dates to count at.
    n : int
        Number of runs (runs that never met a criterion count in the denominator).

    Returns
    -------
    xarray.DataArray
        Dims ``(criterion, time)``, criteria in table order; never decreasing in time.

    Examples
    --------
    >>> t = pd.DataFrame({"criterion": ["a", "a"], "first_date": pd.to_datetime(["2027-01-02", None])})
    >>> share_crossed(t, pd.date_range("2027-01-01", periods=3), n=2).values.tolist()
    [[0.0, 0.5, 0.5]]
    """
    times = pd.DatetimeIndex(times)
    names = list(dict.fromkeys(table["criterion"]))
    share = np.zeros((len(names), len(times)))
    for i, name in enumerate(names):
        first = pd.to_datetime(table.loc[table["criterion"] == name, "first_date"]).dropna().to_numpy()
        share[i] = (first[:, None] <= times.to_numpy()[None, :]).sum(axis=0) / n
    return xr.DataArray(
        share,
        dims=("criterion", "time"),
        coords={"criterion": names, "time": times},
        attrs={"units": "1", "long_name": "share of runs in which the threshold has been crossed by this date"},
    )
