"""The observation model against hand computations on tiny cases."""

from __future__ import annotations

import numpy as np
from scipy import stats

from scenarios.calibration.likelihood import log_likelihood, nb_logpmf, period_index


def _nb(y, mu, size):
    return stats.nbinom.logpmf(y, size, size / (size + mu))


def test_weekly_likelihood_by_hand_skips_missing_days():
    mu = np.arange(1.0, 15.0)[None, :]  # 14 days, two weeks
    y = np.array([1, 2, np.nan, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, np.nan])
    got = log_likelihood({"reported_cases": mu}, {"reported_cases": y}, {"reported_cases": np.array([4.0])})
    # Week 1: observed days 1,2,4..7 -> y 25, mu 1+2+4+5+6+7 = 25; week 2: days 8..13 -> y 63, mu 63.
    want = _nb(25, 25.0, 4.0) + _nb(63, 63.0, 4.0)
    assert np.allclose(got, [want])
    # Reading the missing day as zero would change the answer.
    zero = np.nan_to_num(y)
    assert not np.allclose(
        log_likelihood({"reported_cases": mu}, {"reported_cases": zero}, {"reported_cases": np.array([4.0])}), got
    )


def test_census_by_date_and_daily_counts():
    mu = np.array([[10.0, 20.0, 30.0], [5.0, 5.0, 5.0]])
    census = np.array([np.nan, 18.0, np.nan])
    got = log_likelihood({"census_icu": mu}, {"census_icu": census}, {"census_icu": np.array([2.0, 3.0])})
    assert np.allclose(got, [_nb(18, 20.0, 2.0), _nb(18, 5.0, 3.0)])
    deaths = np.array([1.0, np.nan, 3.0])
    daily = log_likelihood({"deaths": mu}, {"deaths": deaths}, {"deaths": np.array([2.0, 3.0])}, weekly=False)
    assert np.allclose(daily, [_nb(1, 10.0, 2.0) + _nb(3, 30.0, 2.0), _nb(1, 5.0, 3.0) + _nb(3, 5.0, 3.0)])


def test_nb_matches_scipy_and_periods_split_on_change_dates():
    y, mu, size = np.array([0, 3, 50]), np.array([0.5, 2.0, 40.0]), np.array([1.0, 5.0, 100.0])
    assert np.allclose(nb_logpmf(y, mu, size), _nb(y, mu, size))
    dates = np.arange("2021-07-01", "2021-07-06", dtype="datetime64[D]")
    assert period_index(dates, [np.datetime64("2021-07-03")]).tolist() == [0, 0, 1, 1, 1]
