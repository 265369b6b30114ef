"""Observation model: expected observed series from model runs, and a negative-binomial likelihood.

Reported cases are the model's onsets, delayed by the config's reporting delay and thinned by the
ascertainment of each period: the SEIR model is deterministic and reporting is linear, so one run serves
every ascertainment value. Counts are compared as weekly sums over the days that were observed (a missing
day is skipped, never read as zero); censuses are compared on the dates they were taken.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr
from scipy.special import gammaln

from ..config import Config
from ..disease import reporting_delay_weights
from ..results import over_ages
from .model import Parameters
from .observed import STOCKS, weekly_sums

__all__ = ["expected_series", "log_likelihood", "nb_logpmf", "period_index"]

MODEL_VARIABLES = {
    "reported_cases": ("new_onsets",),
    "deaths": ("deaths",),
    "census_oxygen": ("census_oxygen",),
    "census_icu": ("census_icu",),
    "census_total": ("census_oxygen", "census_icu"),
    "admissions": ("admissions_oxygen", "admissions_icu"),
}


def needed_variables(series: Sequence[str]) -> list[str]:
    """Return the result variables the observation model reads for ``series``."""
    return sorted({v for s in series for v in MODEL_VARIABLES[s]})


def nb_logpmf(y: np.ndarray, mu: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Log probability of counts ``y`` under a negative binomial with mean ``mu`` and size ``size``.

    Variance is ``mu + mu**2 / size``. Broadcasts over its arguments.

    Examples
    --------
    >>> from scipy import stats
    >>> round(float(nb_logpmf(3, 2.0, 5.0)), 10) == round(float(stats.nbinom.logpmf(3, 5.0, 5.0 / 7.0)), 10)
    True
    """
    y, mu, size = np.asarray(y, float), np.maximum(np.asarray(mu, float), 1e-9), np.asarray(size, float)
    return (
        gammaln(y + size)
        - gammaln(size)
        - gammaln(y + 1)
        + size * (np.log(size) - np.log(size + mu))
        + y * (np.log(mu) - np.log(size + mu))
    )


def period_index(dates: Sequence[dt.date] | np.ndarray, change_dates: Sequence[dt.date]) -> np.ndarray:
    """Index of the period each date falls in (0 before the first change date)."""
    days = np.asarray(dates, dtype="datetime64[D]")
    return np.searchsorted(np.asarray(change_dates, dtype="datetime64[D]"), days, side="right")


def _delayed(onsets: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Convolve onsets (K, T) with the delay weights, cut at T (reports after the window are not seen)."""
    t = onsets.shape[-1]
    out = np.zeros_like(onsets)
    for d, w in enumerate(weights[:t]):
        if w:
            out[:, d:] += w * onsets[:, : t - d]
    return out


def expected_series(
    ds: xr.Dataset,
    series: Sequence[str],
    params: Parameters,
    values: np.ndarray,
    config: Config,
) -> dict[str, np.ndarray]:
    """Return expected daily values of each observed series, (K, T) each, for natural ``values`` (K, n_params)."""
    values = np.atleast_2d(values)
    k = values.shape[0]

    def total(name: str) -> np.ndarray:
        return np.asarray(over_ages(ds[name]).transpose("draw", "time").values, dtype=float).reshape(k, -1)

    out = {}
    scale = params.get(values, "severity_scale")
    for s in series:
        if s == "reported_cases":
            reported = _delayed(total("new_onsets"), reporting_delay_weights(config.reporting))
            cal = config.calibration
            periods = period_index(ds.time.values, cal.ascertainment_change_dates if cal else ())
            out[s] = reported * params.get(values, "ascertainment")[:, periods]
        else:
            out[s] = sum(total(v) for v in MODEL_VARIABLES[s]) * scale[:, :1]
    return out


def log_likelihood(
    expected: Mapping[str, np.ndarray],
    observed: Mapping[str, np.ndarray],
    dispersion: Mapping[str, np.ndarray],
    weekly: bool = True,
) -> np.ndarray:
    """Negative-binomial log likelihood of the observed series, one value per draw.

    Parameters
    ----------
    expected : mapping of str to ndarray, shape (K, T)
        Expected daily values in the fit window.
    observed : mapping of str to ndarray, shape (T,)
        Observed daily values, ``NaN`` where missing.
    dispersion : mapping of str to ndarray, shape (K,)
        Negative-binomial size of each series.
    weekly : bool
        Compare counts as sums over 7-day blocks from the first day; censuses (stocks) are always by date.

    Returns
    -------
    ndarray, shape (K,)
        Log likelihood; days with no observation add nothing.
    """
    total = 0.0
    for name, mu in expected.items():
        y = np.asarray(observed[name], dtype=float)
        mu = np.where(np.isnan(y), np.nan, np.atleast_2d(mu))  # model counted on observed days only
        if weekly and name not in STOCKS:
            y, _ = weekly_sums(y)
            mu, _ = weekly_sums(mu)
        seen = ~np.isnan(y)
        size = np.asarray(dispersion[name], dtype=float)[:, None]
        total = total + nb_logpmf(np.round(y[seen]), mu[:, seen], size).sum(axis=-1)
    return np.asarray(total, dtype=float)
