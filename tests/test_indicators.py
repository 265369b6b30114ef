"""Indicator arithmetic, operators, sustained logic, activation rule and levels."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scenarios.config.surge import Levels, ThresholdSet
from scenarios.indicators import (
    IndicatorTracker,
    activation,
    compare,
    compute_indicators,
    evaluate,
    first_true,
    levels_series,
    per_100k,
    rolling_mean,
    rolling_sum,
    sustained,
)


def test_rolling_sum_matches_independent_sum_and_needs_a_full_week():
    rng = np.random.default_rng(1)
    x = rng.poisson(30, size=40).astype(float)
    out = rolling_sum(x)
    assert np.isnan(out[:6]).all()
    for t in range(6, 40):
        assert out[t] == sum(x[t - 6 : t + 1])
    partial = rolling_sum(x, min_periods=1)
    assert partial[0] == x[0] and partial[3] == x[:4].sum()


def test_rolling_mean_of_stock_and_extra_dims():
    x = np.arange(14.0)
    assert rolling_mean(x)[6] == pytest.approx(3.0)
    assert rolling_mean(x)[13] == pytest.approx(10.0)
    two = np.stack([x, 2 * x], axis=1)
    np.testing.assert_allclose(rolling_mean(two)[13], [10.0, 20.0])
    np.testing.assert_allclose(rolling_mean(x, min_periods=1)[:3], [0.0, 0.5, 1.0])


@pytest.mark.parametrize(
    ("count", "population", "expected"),
    [
        (450, 100_000, 450.0),
        (45, 10_000, 450.0),
        (900, 200_000, 450.0),
        (32, 80_000, 40.0),
        (1, 1_723_067, 1e5 / 1_723_067),
    ],
)
def test_per_100k_arithmetic_is_exact_when_the_rate_is_representable(count, population, expected):
    assert per_100k(count, population) == expected


def test_per_100k_rejects_a_zero_population():
    with pytest.raises(ValueError, match="population"):
        per_100k(1.0, 0)


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        (">", [False, False, True]),
        ("≥", [False, True, True]),
        (">=", [False, True, True]),
        ("<", [True, False, False]),
        ("≤", [True, True, False]),
        ("<=", [True, True, False]),
    ],
)
def test_strict_and_inclusive_operators_differ_exactly_at_equality(op, expected):
    assert compare(np.array([449.0, 450.0, 451.0]), op, 450).tolist() == expected


def test_equality_through_the_whole_chain_daily_cases_to_weekly_rate():
    population = 70_000  # 315 weekly cases = 450 per 100,000
    daily = np.full(10, 45.0)
    rate = compute_indicators({"reported_cases": daily}, population)["cases_7d_per_100k"]
    assert rate[6] == 450.0
    assert not compare(rate, ">", 450).any()  # Kiên Giang/3984: "> 450" is not met at exactly 450
    assert compare(rate, "≥", 450)[6:].all()  # "≥ 450" would be


def test_nan_is_never_met_whatever_the_operator():
    for op in (">", "≥", "<", "≤"):
        assert not compare(np.array([np.nan]), op, 5.0).any()


def test_unknown_operator_is_an_error():
    with pytest.raises(ValueError, match="allowed"):
        compare(np.array([1.0]), "==", 1.0)


def test_sustained_counts_consecutive_days_and_resets():
    holds = np.array([1, 1, 0, 1, 1, 1, 1, 0, 1], bool)
    assert sustained(holds, 1).tolist() == holds.tolist()
    assert sustained(holds, 3).tolist() == [0, 0, 0, 0, 0, 1, 1, 0, 0]
    assert not sustained(holds, 5).any()
    assert first_true(sustained(holds, 4)) == 6
    assert first_true(np.zeros(5, bool)) is None


def test_activation_any_k_of_n_all():
    met = np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1], [0, 0, 0]], bool)
    assert activation(met, 1).tolist() == [True, True, True, False]
    assert activation(met, 2).tolist() == [False, True, True, False]
    assert activation(met, 3).tolist() == [False, False, True, False]


def _set(activation_rule="any", k=None, sustained_days=1):
    return ThresholdSet.model_validate(
        {
            "name": "test",
            "activation": activation_rule,
            "k": k,
            "criteria": [
                {
                    "name": "cases",
                    "indicator": "cases_7d_per_100k",
                    "operator": ">",
                    "value": 450,
                    "sustained_days": sustained_days,
                },
                {
                    "name": "oxygen",
                    "indicator": "oxygen_patients_7d_avg_per_100k",
                    "operator": ">",
                    "value": 32,
                },
                {"name": "beds", "indicator": "free_covid_beds_per_100k", "operator": "<", "value": 10},
            ],
        }
    )


def test_evaluate_applies_each_criterion_and_the_rule():
    values = {
        "cases_7d_per_100k": np.array([400, 460, 470, 480, 300.0]),
        "oxygen_patients_7d_avg_per_100k": np.array([10, 10, 40, 40, 40.0]),
        "free_covid_beds_per_100k": np.array([50, 50, 50, 5, 5.0]),
    }
    met, act = evaluate(values, _set())
    assert met.tolist() == [[0, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 1], [0, 1, 1]]
    assert act.tolist() == [False, True, True, True, True]
    assert evaluate(values, _set("k_of_n", 2))[1].tolist() == [False, False, True, True, True]
    assert evaluate(values, _set("all"))[1].tolist() == [False, False, False, True, False]
    met3 = evaluate(values, _set(sustained_days=3))[0]
    assert met3[:, 0].tolist() == [False, False, False, True, False]


def test_level_table_highest_met_level_else_lowest():
    levels = Levels.model_validate(
        {
            "level": [
                {"level": 2, "criteria": [{"indicator": "cases_7d_per_100k", "operator": "≥", "value": 20}]},
                {"level": 3, "criteria": [{"indicator": "cases_7d_per_100k", "operator": "≥", "value": 50}]},
                {
                    "level": 4,
                    "rule": "any",
                    "criteria": [
                        {"indicator": "cases_7d_per_100k", "operator": "≥", "value": 150},
                        {"indicator": "free_covid_beds_per_100k", "operator": "<", "value": 10},
                    ],
                },
            ]
        }
    )
    values = {
        "cases_7d_per_100k": np.array([np.nan, 19.9, 20, 49, 50, 149, 150, 10]),
        "free_covid_beds_per_100k": np.array([50, 50, 50, 50, 50, 50, 50, 9.0]),
    }
    assert levels_series(values, levels).tolist() == [1, 1, 2, 2, 3, 3, 4, 4]


def test_tracker_day_by_day_equals_post_hoc_exactly():
    rng = np.random.default_rng(7)
    n = 60
    raw = {
        "reported_cases": rng.gamma(2.0, 40.0, n) * np.exp(0.05 * np.arange(n)),
        "oxygen_patients": rng.gamma(2.0, 5.0, n),
        "free_covid_beds": rng.uniform(0, 300, n),
        "staffed_icu_beds": np.full(n, 60.0),
        "free_staffed_icu_beds": rng.uniform(0, 60, n),
        "deaths": rng.poisson(2, n).astype(float),
    }
    population = 1_234_567
    ts = _set("k_of_n", 2, sustained_days=2)
    levels = Levels.model_validate(
        {
            "level": [
                {
                    "level": 3,
                    "rule": "all",
                    "criteria": [
                        {"indicator": "cases_7d_per_100k", "operator": "≥", "value": 80},
                        {"indicator": "free_covid_beds_per_100k", "operator": "<", "value": 15},
                    ],
                },
                {
                    "level": 2,
                    "criteria": [{"indicator": "cases_7d_per_100k", "operator": "≥", "value": 50, "sustained_days": 2}],
                },
            ]
        }
    )
    tracker = IndicatorTracker(n, population, ts, levels)
    for day in range(n):
        state = tracker.update(day, **{k: v[day] for k, v in raw.items()})
        assert set(state["met"]) == {"cases", "oxygen", "beds"}
    post = compute_indicators(raw, population)
    for name, series in post.items():
        np.testing.assert_array_equal(tracker.values[name], series, err_msg=name)
    met, act = evaluate(post, ts)
    np.testing.assert_array_equal(tracker.met, met)
    np.testing.assert_array_equal(tracker.activated, act)
    np.testing.assert_array_equal(tracker.level, levels_series(post, levels))
    assert set(np.unique(tracker.level)) == {1, 2, 3}
    assert act.any() and not act.all()  # the test exercises both states


def test_tracker_rejects_unknown_inputs():
    tracker = IndicatorTracker(3, 1000, _set())
    with pytest.raises(KeyError, match="allowed"):
        tracker.update(0, cases=1.0)


def test_missing_inputs_give_nan_indicators():
    out = compute_indicators({"reported_cases": np.ones(8)}, 1000)
    assert np.isnan(out["free_covid_beds_per_100k"]).all()
    assert math.isclose(out["cases_7d_per_100k"][7], 700.0)
