"""Back-test: fit to each cutoff, forecast 1-4 weeks, score against what was observed next.

Scores are the forecasting hubs' measures from ``scoringrules``: the weighted interval score (WIS) on the
23 standard quantile levels, and 50% and 90% interval coverage, on weekly reported cases. Two naive
baselines are scored at the same cutoffs: the last week persists, and the last two weeks' growth continues;
their intervals are log-normal, with the spread of the last six weekly log changes (growing with the horizon).
The error of the predicted first date of "weekly cases per 100k > 450" is reported in days.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import MutableMapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from ..config import Config, load_config
from ..indicators import per_100k, rolling_sum
from ..results import output_folder, write_csv
from .fit import fit, fitted_config
from .forecast import crossing_probability, forecast
from .observed import read_observed, weekly_sums

__all__ = ["ALPHAS", "backtest", "score_forecast", "score_table", "week_end", "write_backtest"]

ALPHAS = np.array([0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])  # 23 quantiles with the median
CASES_CRITERION = ("cases_7d_per_100k", 450.0)


def week_end(date: dt.date, fit_from: dt.date) -> dt.date:
    """Return the last day, on or before ``date``, of a 7-day block counted from ``fit_from``."""
    return date - dt.timedelta(days=((date - fit_from).days + 1) % 7)


def _levels() -> np.ndarray:
    return np.concatenate([ALPHAS / 2, [0.5], 1 - ALPHAS[::-1] / 2])


def _wis(obs: float, quantiles: np.ndarray) -> float:
    """WIS of one forecast given its 23 quantiles (levels of :func:`_levels`)."""
    import scoringrules as sr

    k = len(ALPHAS)
    lower, median, upper = quantiles[:k], quantiles[k], quantiles[k + 1 :][::-1]
    return float(sr.weighted_interval_score(obs, median, lower, upper, ALPHAS))


def _scores(obs: float, quantiles: np.ndarray) -> dict[str, float]:
    levels = _levels()
    q = dict(zip(np.round(levels, 3), quantiles, strict=True))
    return {
        "wis": _wis(obs, quantiles),
        "cover_50": float(q[0.25] <= obs <= q[0.75]),
        "cover_90": float(q[0.05] <= obs <= q[0.95]),
        "median": float(q[0.5]),
    }


def _baselines(history: np.ndarray, horizon: int) -> dict[str, np.ndarray]:
    """Quantiles of the two naive baselines for ``horizon`` weeks after the last complete week of ``history``."""
    h = history[~np.isnan(history)]
    last = h[-1]
    changes = np.diff(np.log(h[-7:] + 1))
    z = stats.norm.ppf(_levels())
    growth = changes[-1] if len(changes) else 0.0
    spread = max(float(np.sqrt(np.mean(changes**2))) if len(changes) else 0.5, 0.05)
    out = {}
    for name, centre in (("persistence", np.log(last + 1)), ("growth", np.log(last + 1) + growth * horizon)):
        out[name] = np.maximum(np.exp(centre + z * spread * np.sqrt(horizon)) - 1, 0)
    return out


def _first_crossing(daily: np.ndarray, dates: pd.DatetimeIndex, population: float) -> pd.Timestamp | None:
    indicator, threshold = CASES_CRITERION
    weekly = per_100k(rolling_sum(daily, 7), population)
    hit = np.flatnonzero(np.nan_to_num(weekly) > threshold)
    return dates[hit[0]] if len(hit) else None


def backtest(
    config: Config | str | Path,
    data: pd.DataFrame | str | Path,
    cutoffs: Sequence[dt.date],
    *,
    area: str | None = None,
    to_2025: bool = False,
    weeks: int = 4,
    draws: int = 100,
    progress: bool = False,
    fits: MutableMapping[dt.date, xr.Dataset] | None = None,
) -> pd.DataFrame:
    """Fit at each cutoff, forecast ``weeks`` weeks, and score model and baselines against the data.

    Parameters
    ----------
    config : Config or path
        Config with a ``[calibration]`` section.
    data : DataFrame or path
        Observed series (see :func:`read_observed`); must reach ``weeks`` weeks past the last cutoff.
    cutoffs : sequence of date
        Last dates used by each fit; each is moved back to the end of a week counted from the fit's start.
    area, to_2025
        As for :func:`read_observed`.
    weeks : int
        Forecast horizons, 1 .. ``weeks`` weeks.
    draws : int
        Posterior draws per forecast.
    progress : bool
        Show progress bars.
    fits : mutable mapping, optional
        Fits by (week-end) cutoff: used when present, else made and stored there. The fit does not depend on
        the forecast's settings, so forecasts can be rescored without refitting.

    Returns
    -------
    pandas.DataFrame
        One row per (cutoff, horizon, method) with ``observed``, ``median``, ``wis``, ``cover_50``,
        ``cover_90``, and for the model ``converged``, ``model_runs``, ``wall_seconds``;
        ``attrs["crossing"]`` holds, per cutoff, the observed and predicted first date of
        "weekly cases per 100k > 450" and the error in days.
    """
    if not isinstance(config, Config):
        config = load_config(config)
    observed = data if isinstance(data, pd.DataFrame) else read_observed(data, area, to_2025=to_2025)
    cal = config.calibration
    fit_from = (cal.fit_from if cal and cal.fit_from else None) or config.scenario.start_date
    population = float(config.population.total or 0) or None
    daily = observed["reported_cases"]
    rows, crossing_rows = [], []
    for cutoff in cutoffs:
        cut = week_end(cutoff, fit_from)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            post = (
                fits[cut] if fits is not None and cut in fits else fit(config, observed, until=cut, progress=progress)
            )
        if fits is not None:
            fits[cut] = post
        post = _with_forecast_settings(post, config)
        fc = forecast(post, days=7 * weeks, draws=draws, progress=progress)
        fit_info = {k: post.attrs[k] for k in ("converged", "model_runs", "wall_seconds")}
        rows += score_forecast(fc, observed, weeks, **fit_info, warnings=len(caught))
        if population:
            crossing_rows.append(_crossing_error(fc, daily, cut, weeks, population, observed.attrs.get("area", "")))
    table = pd.DataFrame(rows)
    table.attrs["crossing"] = pd.DataFrame(crossing_rows)
    return table


def _with_forecast_settings(post: xr.Dataset, config: Config) -> xr.Dataset:
    """Return ``post`` whose fitted config forecasts with ``config``'s forecast settings (a stored fit's may differ).

    The fit depends on neither ``rt_damping`` nor ``forecast_rt_step_sd``, so a stored fit is forecast as new.
    """
    fitted = fitted_config(post)
    if config.calibration is None or fitted.calibration is None:
        return post
    keep = ("rt_damping", "forecast_rt_step_sd")
    cal = fitted.calibration.model_copy(update={k: getattr(config.calibration, k) for k in keep})
    return post.assign_attrs(config_json=fitted.model_copy(update={"calibration": cal}).model_dump_json())


def score_forecast(fc: object, observed: pd.DataFrame, weeks: int = 4, **extra: object) -> list[dict[str, object]]:
    """Score a forecast's weekly reported cases, and the two baselines at its cutoff, against ``observed``.

    Returns one row per (horizon, method) for the complete observed weeks 1..``weeks`` after the forecast's
    ``fit_until``; ``extra`` columns are added to the model's rows.
    """
    fit_from = dt.date.fromisoformat(fc.attrs["fit_from"])
    cut = dt.date.fromisoformat(fc.attrs["fit_until"])
    span = pd.date_range(fit_from, cut + dt.timedelta(days=7 * weeks), freq="D")
    obs_weekly, n_days = weekly_sums(observed["reported_cases"].reindex(span).to_numpy(dtype=float))
    first = len(pd.date_range(fit_from, cut, freq="D")) // 7  # index of the first forecast week
    pred = fc["predicted_weekly_reported_cases"].values
    levels = _levels()
    rows: list[dict[str, object]] = []
    for h in range(1, weeks + 1):
        w = first + h - 1
        if w >= len(obs_weekly) or n_days[w] < 7:
            continue  # score complete weeks only
        y = float(obs_weekly[w])
        common = {"area": observed.attrs.get("area", ""), "cutoff": cut, "horizon_weeks": h, "observed": y}
        rows.append({**common, "method": "model", **_scores(y, np.quantile(pred[:, w], levels)), **extra})
        for name, q in _baselines(obs_weekly[:first], h).items():
            rows.append({**common, "method": name, **_scores(y, q)})
    return rows


def _crossing_error(
    fc: object, daily: pd.Series, cut: dt.date, weeks: int, population: float, area: str
) -> dict[str, object]:
    """Observed vs predicted first date of weekly cases per 100k > 450 after ``cut``."""
    end = cut + dt.timedelta(days=7 * weeks)
    span = pd.date_range(daily.index.min(), end, freq="D")
    observed_first = _first_crossing(daily.reindex(span).to_numpy(dtype=float), span, population)
    _, table = crossing_probability(fc)
    rows = table[(table["indicator"] == CASES_CRITERION[0]) & (table["kind"] == "criterion")]
    firsts = pd.to_datetime(rows["first_date"])
    after = firsts[firsts > pd.Timestamp(cut)]
    share = len(after) / max(len(firsts), 1)
    predicted = after.sort_values().iloc[len(after) // 2] if len(after) else None
    already = observed_first is not None and observed_first <= pd.Timestamp(cut)
    error = (predicted - observed_first).days if (predicted is not None and observed_first is not None) else None
    return {
        "area": area,
        "cutoff": cut,
        "observed_first": observed_first,
        "already_crossed": already,
        "p_cross_in_horizon": share,
        "predicted_median": predicted,
        "error_days": None if already else error,
    }


def score_table(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Mean WIS and coverage by method over all areas, cutoffs and horizons (and by area)."""
    all_rows = pd.concat(list(tables), ignore_index=True)
    by_area = all_rows.groupby(["area", "method"])[["wis", "cover_50", "cover_90"]].mean()
    overall = all_rows.groupby("method")[["wis", "cover_50", "cover_90"]].mean()
    overall.index = pd.MultiIndex.from_product([["all"], overall.index], names=["area", "method"])
    return pd.concat([by_area, overall])


BACKTEST_OUTPUTS = {"scores.csv", "crossing.csv"}


def write_backtest(table: pd.DataFrame, out: str | Path) -> Path:
    """Write a back-test's ``scores.csv`` and ``crossing.csv`` (from ``table.attrs["crossing"]``) into ``out``.

    All or nothing: the pair replaces an earlier one in one rename (see :func:`results.output_folder`), so
    scores never sit beside the crossing errors of another run.
    """
    scores = table.copy()
    scores.attrs = {}
    with output_folder(out, BACKTEST_OUTPUTS) as tmp:
        write_csv(scores, tmp / "scores.csv")
        write_csv(table.attrs["crossing"], tmp / "crossing.csv")
    return Path(out)
