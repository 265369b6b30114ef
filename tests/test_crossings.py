"""Crossing dates on synthetic series with analytic answers; threshold-set files and config."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from scenarios.config import Config
from scenarios.config.surge import (
    Policy,
    Thresholds,
    ThresholdSet,
    check_policies,
    load_threshold_set,
    shipped_threshold_sets,
)
from scenarios.indicators import compute_indicators, crossings, first_true

START = np.datetime64("2026-01-01", "D")


def _ds(n, population=100_000, **series):
    time = START + np.arange(n).astype("timedelta64[D]")
    return xr.Dataset(
        {k: ("time", np.asarray(v, float)) for k, v in series.items()},
        coords={"time": time.astype("datetime64[ns]"), "day": ("time", np.arange(n))},
        attrs={"population_total": population},
    )


def _analytic_first_day(t_star: float) -> int:
    """First integer day with W(t) > threshold when W crosses it at t*: floor(t*) + 1."""
    return math.floor(t_star) + 1


@pytest.mark.parametrize(("w0", "r"), [(10.0, 0.1), (3.7, 0.23), (449.0, 0.01), (1.0, 0.05)])
def test_exponential_weekly_cases_cross_450_on_the_analytic_day(w0, r):
    n = 400
    t = np.arange(n)
    ds = _ds(n, cases_7d_per_100k=w0 * np.exp(r * t))
    t_star = math.log(450 / w0) / r
    df = crossings(ds, "provincial_3984")
    row = df.set_index("criterion").loc["cases"]
    assert row["first_day"] == _analytic_first_day(t_star)
    assert row["first_date"] == pd.Timestamp("2026-01-01") + pd.Timedelta(days=_analytic_first_day(t_star))
    assert row["days_met"] == n - _analytic_first_day(t_star)
    assert row["last_day"] == n - 1


def test_exponential_daily_reported_cases_through_the_7_day_sum_and_per_100k():
    # Daily reported cases c(t) = c0 e^{rt}; the 7-day sum is S(t) = c(t) (1 - e^{-7r}) / (1 - e^{-r}), so the
    # weekly rate per 100k crosses 450 at t* = ln(450 N / (1e5 c0 g)) / r with g the geometric factor.
    c0, r, population = 2.0, 0.08, 1_723_067
    n = 200
    daily = c0 * np.exp(r * np.arange(n))
    g = (1 - math.exp(-7 * r)) / (1 - math.exp(-r))
    t_star = math.log(450 * population / (1e5 * c0 * g)) / r
    ds = _ds(n, population=population, new_reported_cases=daily)
    row = crossings(ds, "provincial_3984").set_index("criterion").loc["cases"]
    assert t_star > 6 and abs(t_star - round(t_star)) > 1e-6
    assert row["first_day"] == math.floor(t_star) + 1


def test_integer_crossing_time_strict_excludes_the_day_inclusive_includes_it():
    # W(t) = 100 * 2^(t/10): exactly 400 at t = 20 (exact in floating point).
    n = 40
    w = 100.0 * 2.0 ** (np.arange(n) / 10)
    assert w[20] == 400.0
    strict = ThresholdSet.model_validate(
        {"name": "s", "criteria": [{"indicator": "cases_7d_per_100k", "operator": ">", "value": 400}]}
    )
    inclusive = ThresholdSet.model_validate(
        {"name": "i", "criteria": [{"indicator": "cases_7d_per_100k", "operator": "≥", "value": 400}]}
    )
    ds = _ds(n, cases_7d_per_100k=w)
    assert crossings(ds, strict).loc[0, "first_day"] == 21
    assert crossings(ds, inclusive).loc[0, "first_day"] == 20


def test_falling_indicator_crosses_below_with_strict_and_inclusive_operators():
    beds = np.array([30, 20, 12, 10, 10, 5, 4, 3, 12.0])  # free beds per 100k with population 100k
    ds = _ds(len(beds), free_covid_beds_per_100k=beds)
    prov = crossings(ds, "provincial_3984").set_index("criterion").loc["free_beds"]  # < 10
    small = crossings(ds, "small_area_phongtho").set_index("criterion").loc["free_beds"]  # ≤ 5
    assert (prov["first_day"], prov["days_met"], prov["last_day"]) == (5, 3, 7)
    assert (small["first_day"], small["days_met"], small["last_day"]) == (5, 3, 7)
    at_10 = ThresholdSet.model_validate(
        {"name": "x", "criteria": [{"indicator": "free_covid_beds_per_100k", "operator": "≤", "value": 10}]}
    )
    assert crossings(ds, at_10).loc[0, "first_day"] == 3


def test_sustained_criterion_fires_on_the_nth_day_in_a_row():
    w = np.array([500, 500, 100, 500, 500, 500, 500, 100.0])
    ts = ThresholdSet.model_validate(
        {
            "name": "s",
            "criteria": [{"indicator": "cases_7d_per_100k", "operator": ">", "value": 450, "sustained_days": 3}],
        }
    )
    row = crossings(_ds(len(w), cases_7d_per_100k=w), ts).loc[0]
    assert (row["first_day"], row["last_day"], row["days_met"]) == (5, 6, 2)


def test_which_fires_first_activation_and_lead_time_to_overflow():
    n = 30
    cases = np.where(np.arange(n) >= 8, 500.0, 100.0)
    oxygen = np.where(np.arange(n) >= 12, 40.0, 5.0)
    unmet_icu = np.where(np.arange(n) >= 20, 3.0, 0.0)
    unmet_oxygen = np.where(np.arange(n) >= 25, 1.0, 0.0)
    ds = _ds(
        n,
        cases_7d_per_100k=cases,
        oxygen_patients_7d_avg_per_100k=oxygen,
        unmet_icu=unmet_icu,
        unmet_oxygen=unmet_oxygen,
    )
    df = crossings(ds, "provincial_3984").set_index("criterion")
    assert df.loc["cases", "rank"] == 1 and df.loc["oxygen", "rank"] == 2
    assert pd.isna(df.loc["free_beds", "rank"])
    assert df.loc["activation", "first_day"] == 8
    assert df.loc["overflow_icu", "first_day"] == 20 and df.loc["overflow_oxygen", "first_day"] == 25
    assert df.loc["overflow", "first_day"] == 20
    assert df.loc["activation", "lead_days"] == 12 and df.loc["oxygen", "lead_days"] == 8
    all_rule = crossings(
        ds,
        {
            "name": "a",
            "activation": "all",
            "criteria": [
                {"name": "c", "indicator": "cases_7d_per_100k", "operator": ">", "value": 450},
                {"name": "o", "indicator": "oxygen_patients_7d_avg_per_100k", "operator": ">", "value": 32},
            ],
        },
    )
    assert all_rule.set_index("criterion").loc["activation", "first_day"] == 12
    assert df.attrs["first_criterion"] == "cases" and df.attrs["lead_days"] == 12


def test_no_crossing_gives_empty_dates_not_errors(tmp_path):
    n = 50
    ds = _ds(n, new_reported_cases=np.ones(n), unmet_oxygen=np.zeros(n), unmet_icu=np.zeros(n))
    df = crossings(ds)
    assert df["first_date"].isna().all() and df["first_day"].isna().all()
    assert (df["days_met"] == 0).all() and df["lead_days"].isna().all() and df["rank"].isna().all()
    assert {"criterion", "operator", "threshold", "first_date", "first_day", "days_met"} <= set(df.columns)
    assert pd.isna(df.attrs["activation_date"]) and df.attrs["first_criterion"] is None
    path = tmp_path / "crossings.csv"
    df.to_csv(path, index=False)
    back = pd.read_csv(path)
    assert back["first_date"].isna().all() and len(back) == len(df)
    # Indicators absent from the results are flagged, not errors.
    assert df.set_index("criterion").loc["free_beds", "note"].startswith("no data")


def test_crossings_over_replicates_gives_one_block_per_run():
    n = 20
    w = np.stack([np.linspace(0, 950, n), np.linspace(0, 475, n)], axis=1)
    time = (START + np.arange(n).astype("timedelta64[D]")).astype("datetime64[ns]")
    ds = xr.Dataset(
        {"cases_7d_per_100k": (("time", "replicate"), w)},
        coords={"time": time, "replicate": [0, 1]},
        attrs={"population_total": 1e5},
    )
    df = crossings(ds)
    cases = df[df["criterion"] == "cases"].set_index("replicate")
    assert cases.loc[0, "first_day"] == 10 and cases.loc[1, "first_day"] == 19


def test_per_100k_threshold_scales_with_population():
    # Same weekly count, different populations: 450/100k crossed only in the smaller area.
    daily = np.full(14, 100.0)  # 700 a week
    small = crossings(_ds(14, population=150_000, new_reported_cases=daily)).set_index("criterion")
    large = crossings(_ds(14, population=160_000, new_reported_cases=daily)).set_index("criterion")
    assert small.loc["cases", "first_day"] == 6  # 466.7 per 100k > 450
    assert pd.isna(large.loc["cases", "first_day"])  # 437.5 per 100k
    assert compute_indicators({"reported_cases": daily}, 150_000)["cases_7d_per_100k"][6] == pytest.approx(700 / 1.5)


# ---- threshold-set files and config -------------------------------------------------------------


def test_shipped_sets_match_the_plans():
    assert set(shipped_threshold_sets()) >= {"provincial_3984", "small_area_phongtho"}
    prov = load_threshold_set("provincial_3984")
    assert [(c.operator, c.value) for c in prov.criteria] == [(">", 450), (">", 32), ("<", 10), ("<", 4)]
    small = load_threshold_set("small_area_phongtho")
    assert [(c.operator, c.value) for c in small.criteria] == [("≥", 100), ("≥", 10), ("≤", 5)]
    for ts in (prov, small):
        assert all(c.source for c in ts.criteria) and ts.activation == "any"


def test_unknown_set_names_the_shipped_ones():
    with pytest.raises(ValueError, match="provincial_3984.*small_area_phongtho"):
        Thresholds(set="kien_giang")


def test_user_file_inline_and_overrides(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text(
        'name = "mine"\nactivation = "k_of_n"\nk = 2\n'
        '[[criteria]]\nindicator = "cases_7d_per_100k"\noperator = ">="\nvalue = 200\n'
        '[[criteria]]\nindicator = "deaths_7d_per_100k"\noperator = ">"\nvalue = 1\n',
        encoding="utf-8",
    )
    ts = Thresholds(set="mine.toml").resolve(tmp_path)
    assert ts.criteria[0].operator == "≥" and ts.k_needed == 2 and ts.criteria[1].name == "deaths_7d_per_100k"
    inline = Thresholds(
        inline={"name": "x", "criteria": [{"indicator": "cases_7d_per_100k", "operator": "<=", "value": 5}]}
    ).resolve()
    assert inline.criteria[0].operator == "≤"
    over = Thresholds(
        override={"icu": {"indicator": "staffed_icu_beds_per_100k"}, "cases": {"value": 300}},
        activation="k_of_n",
        k=2,
    ).resolve()
    assert over.criterion("icu").indicator == "staffed_icu_beds_per_100k"
    assert over.criterion("cases").value == 300 and over.k_needed == 2


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"override": {"nope": {"value": 1}}}, "no criterion 'nope'.*cases, oxygen, free_beds, icu"),
        ({"override": {"cases": {"operator": "=="}}}, "unknown operator '=='; allowed: >, ≥"),
        (
            {"inline": {"name": "x", "criteria": [{"indicator": "cases", "operator": ">", "value": 1}]}},
            "unknown indicator 'cases'; allowed: cases_7d_per_100k",
        ),
        ({"activation": "k_of_n", "k": 9}, "k between 1 and 4"),
    ],
)
def test_validation_errors_name_what_is_allowed(section, message):
    with pytest.raises(ValueError, match=message):
        Thresholds.model_validate(section)


def test_config_errors_name_the_field(tmp_path):
    from scenarios.config import ConfigError, load_config

    f = tmp_path / "c.toml"
    f.write_text(
        """
[scenario]
name = "t"
start_date = 2026-01-01
horizon_days = 10
[population]
total = 1000
[variants.resident]
r0 = 2.0
[thresholds]
set = "kien_giang"
[[policies]]
name = "5K"
action = "contacts"
comunity = 0.5
""",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err:
        load_config(f)
    text = str(err.value)
    assert "thresholds" in text and "shipped: provincial_3984" in text
    assert "policies.0.comunity" in text and "community" in text


def test_policy_validation_and_triggers():
    ts = load_threshold_set("provincial_3984")
    ok = Policy(name="5K", action="contacts", community=0.6, trigger="cases")
    check_policies((ok,), ts, None)
    with pytest.raises(ValueError, match="allowed: activation, cases, oxygen, free_beds, icu"):
        check_policies((Policy(name="x", action="contacts", work=0.5, trigger="case"),), ts, None)
    with pytest.raises(ValueError, match="needs 'step'"):
        Policy(name="f", action="surge")
    with pytest.raises(ValueError, match="9 values"):
        Policy(name="v", action="vaccination", doses_per_day_by_age=(1, 2), duration_days=5)
    with pytest.raises(ValueError, match="needs a \\[levels\\]"):
        check_policies((Policy(name="l", action="contacts", work=0.5, trigger="level 3"),), ts, None)


def test_every_numeric_surge_field_has_units_and_source():
    from scenarios.config import surge

    models = [
        surge.Criterion,
        surge.ThresholdSet,
        surge.Thresholds,
        surge.CriterionOverride,
        surge.Level,
        surge.Levels,
        surge.Policy,
    ]
    for model in models:
        for name, field in model.model_fields.items():
            ann = str(field.annotation)
            if ("int" in ann or "float" in ann) and "str" not in ann:
                extra = field.json_schema_extra or {}
                assert extra.get("units") and extra.get("source"), f"{model.__name__}.{name}"


def test_config_defaults_to_the_provincial_set():
    cfg = Config.model_validate(
        {
            "scenario": {"name": "t", "start_date": "2026-01-01", "horizon_days": 5},
            "population": {"total": 1000},
            "variants": {"resident": {"r0": 2}},
        }
    )
    assert cfg.thresholds.resolve().name == "provincial_3984" and cfg.policies == ()
    assert first_true(np.array([False, True])) == 1


def test_a_criterion_met_from_the_start_is_a_finding_not_a_trigger():
    """Default ICU capacity below the plan's 4 per 100k: met on day 0, so not the activation nor its lead."""
    t = np.arange("2026-01-01", "2026-03-02", dtype="datetime64[D]")
    n = len(t)
    ds = xr.Dataset(
        {
            "cases_7d_per_100k": ("time", np.linspace(0, 900, n)),  # > 450 from day 31
            "free_staffed_icu_beds_per_100k": ("time", np.full(n, 3.5)),  # < 4 throughout
            "unmet_icu": ("time", np.where(np.arange(n) >= 40, 5.0, 0.0)),
        },
        coords={"time": t},
        attrs={"population_total": 100_000},
    )
    df = crossings(ds).set_index("criterion")
    assert df.loc["icu", "status"] == "met from the start"
    assert pd.isna(df.loc["icu", "first_date"]) and df.loc["icu", "days_met"] == n
    assert df.loc["cases", "status"] == "crossed" and df.loc["cases", "rank"] == 1
    assert df.loc["activation", "first_day"] == df.loc["cases", "first_day"]
    assert df.loc["activation", "lead_days"] == 40 - df.loc["cases", "first_day"]
    assert df.attrs["first_criterion"] == "cases"
    # Once it stops holding and holds again, it is a crossing like any other.
    icu = np.full(n, 3.5)
    icu[10:20] = 6.0
    df = crossings(ds.assign(free_staffed_icu_beds_per_100k=("time", icu))).set_index("criterion")
    assert df.loc["icu", "first_day"] == 20 and df.loc["activation", "first_day"] == 20


def test_the_daily_tracker_agrees_on_activation_with_a_criterion_met_from_the_start():
    from scenarios.config.surge import load_threshold_set
    from scenarios.indicators import IndicatorTracker, evaluate

    ts = load_threshold_set("provincial_3984")
    n = 60
    tracker = IndicatorTracker(n, 100_000, ts)
    cases = np.r_[np.zeros(30), np.full(30, 200.0)]
    for day in range(n):
        tracker.update(
            day,
            reported_cases=cases[day],
            oxygen_patients=0.0,
            free_covid_beds=100.0,
            staffed_icu_beds=3.5,
            free_staffed_icu_beds=3.5,
            deaths=0.0,
        )
    _, activated = evaluate(tracker.values, ts)
    np.testing.assert_array_equal(tracker.activated, activated)
    assert not tracker.activated[:30].any() and tracker.activated[-1]
