"""Indicators and triggered responses inside the daily loop, end to end through ``run``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import scenarios
from scenarios.config import ConfigError
from scenarios.config.surge import ThresholdSet
from scenarios.indicators import crossings, evaluate, indicators_from_results
from scenarios.policy import actions
from scenarios.results import read_netcdf, write_netcdf

from .conftest import CONFIGS, homogeneous

HORIZON = {"scenario": {"name": "t", "start_date": "2026-01-01", "horizon_days": 200}}
FIVE_K = {
    "name": "re-apply 5K",
    "trigger": "cases",
    "action": "contacts",
    "community": 0.4,
    "work": 0.6,
    "delay_days": 3,
}


def _peak_and_day(ds):
    daily = ds.new_infections.sum("age_group").values
    return daily.max(), int(daily.argmax())


@pytest.fixture(scope="module")
def baseline():
    return scenarios.run(homogeneous(**HORIZON))


@pytest.fixture(scope="module")
def with_5k():
    return scenarios.run(homogeneous(**HORIZON, policies=[FIVE_K]))


def test_contact_trigger_lowers_the_subsequent_peak(baseline, with_5k):
    fired = crossings(baseline).set_index("criterion").loc["cases", "first_day"]
    assert not pd.isna(fired) and fired < _peak_and_day(baseline)[1]  # fires before the unmitigated peak
    start = fired + FIVE_K["delay_days"]
    b = baseline.new_infections.sum("age_group").values
    p = with_5k.new_infections.sum("age_group").values
    # Identical until the response is in force (it feeds forward only), then lower.
    np.testing.assert_array_equal(b[:start], p[:start])
    assert p[start] < b[start]
    assert _peak_and_day(with_5k)[0] < 0.8 * _peak_and_day(baseline)[0]
    # The multiplier is recorded in the results from the first day in force.
    community = with_5k.contact_multiplier.sel(setting="community").values
    assert (community[:start] == 1).all() and (community[start:] == pytest.approx(0.4))


def test_fired_actions_are_recorded_with_dates(with_5k):
    table = actions(with_5k)
    assert list(table.columns) == ["date", "day", "policy", "action", "trigger", "event"]
    fired = crossings(with_5k).set_index("criterion").loc["cases", "first_day"]
    assert table[["policy", "event", "day"]].values.tolist() == [
        ["re-apply 5K", "triggered", fired],
        ["re-apply 5K", "in_force", fired + 3],
    ]
    assert table.loc[0, "date"] == pd.Timestamp("2026-01-01") + pd.Timedelta(days=int(fired))
    assert (table["action"] == "contacts").all() and (table["trigger"] == "cases").all()
    assert with_5k.policy_in_force.sel(policy="re-apply 5K").values[fired + 3 :].all()


def test_loop_and_post_hoc_agree_and_survive_a_netcdf_round_trip(with_5k, tmp_path):
    ind = indicators_from_results(with_5k)
    values = {n: ind[n].values for n in ind.data_vars}
    met, act = evaluate(values, ThresholdSet.model_validate(json.loads(with_5k.attrs["threshold_set"])))
    np.testing.assert_array_equal(with_5k.criterion_met.values.astype(bool), met)
    np.testing.assert_array_equal(with_5k.plan_activated.values.astype(bool), act)
    path = write_netcdf(with_5k, tmp_path / "r.nc")
    back = read_netcdf(path)
    pd.testing.assert_frame_equal(crossings(back), crossings(with_5k))
    pd.testing.assert_frame_equal(actions(back), actions(with_5k))


def test_a_run_with_no_crossing_reports_none():
    # The epidemic-driven criteria of the provincial set (cases > 450, oxygen > 32), on a dying epidemic.
    inline = {
        "name": "epidemic only",
        "criteria": [
            {"name": "cases", "indicator": "cases_7d_per_100k", "operator": ">", "value": 450},
            {"name": "oxygen", "indicator": "oxygen_patients_7d_avg_per_100k", "operator": ">", "value": 32},
        ],
    }
    quiet = homogeneous(
        scenario={"name": "q", "start_date": "2026-01-01", "horizon_days": 60},
        variants={"resident": {"r0": 0.8, "initial_infections": 10}},
        policies=[FIVE_K],
        thresholds={"inline": inline},
    )
    ds = scenarios.run(quiet)
    df = crossings(ds)
    crit = df[df["kind"].isin(["criterion", "activation"])]
    assert crit["first_date"].isna().all() and (crit["days_met"] == 0).all()
    assert actions(ds).empty and not ds.policy_in_force.values.any()
    assert "not reached" in scenarios.indicators.format_crossings(df)


def test_surge_policy_opens_a_capacity_step_after_its_lead_time():
    surge = {
        "name": "field",
        "trigger": "oxygen",
        "action": "surge",
        "step": "field hospitals",
        "delay_days": 1,
    }
    cfg = scenarios.load_config(CONFIGS / "ha_noi_new_variant.toml", overrides={"policies": [surge]})
    ds = scenarios.run(cfg)
    base = scenarios.run(scenarios.load_config(CONFIGS / "ha_noi_new_variant.toml", overrides={"policies": []}))
    fired = int(crossings(ds).set_index("criterion").loc["oxygen", "first_day"])
    lead = next(s.lead_time_days for s in cfg.capacity.surge if s.name == "field hospitals")
    opens = fired + 1 + lead
    beds, beds0 = ds.beds_oxygen_available.values, base.beds_oxygen_available.values
    assert beds[opens - 1] == pytest.approx(beds0[opens - 1])
    assert beds[opens] > beds0[opens] + 1


def test_booster_campaign_moves_people_to_dose3():
    doses = [0, 0, 0, 0, 0, 1000, 1000, 1000, 1000]
    campaign = {
        "name": "boost",
        "trigger": "cases",
        "action": "vaccination",
        "doses_per_day_by_age": doses,
        "duration_days": 10,
        "delay_days": 1,
    }
    cfg = homogeneous(
        **HORIZON,
        immunity={"coverage_dose2_by_age": [0.8] * 9, "ve_infection_prior": 1.0},
        policies=[campaign],
        thresholds={"override": {"cases": {"value": 20}}},
    )
    ds = scenarios.run(cfg)
    fired = int(crossings(ds).set_index("criterion").loc["cases", "first_day"])
    dose3 = ds.n_by_immunity.sel(immunity="dose3").sum("age_group").values
    assert dose3[fired] == 0 and dose3[fired + 10] > 0


def test_unknown_trigger_and_step_are_config_errors():
    with pytest.raises(ConfigError, match="unknown trigger 'case'.*activation, cases"):
        scenarios.run(homogeneous(**HORIZON, policies=[{**FIVE_K, "trigger": "case"}]))
    bad = {"name": "f", "action": "surge", "step": "nope"}
    with pytest.raises(ConfigError, match="unknown surge step 'nope'"):
        scenarios.run(homogeneous(**HORIZON, policies=[bad]))


LEVELS = {
    "source": "test table",
    "level": [
        {"level": 2, "criteria": [{"indicator": "cases_7d_per_100k", "operator": "≥", "value": 20}]},
        {"level": 3, "criteria": [{"indicator": "cases_7d_per_100k", "operator": "≥", "value": 50}]},
        {"level": 4, "criteria": [{"indicator": "cases_7d_per_100k", "operator": "≥", "value": 150}]},
    ],
}


def test_epidemic_level_in_results_drives_a_level_trigger():
    policy = {"name": "level 3 5K", "trigger": "level 3", "action": "contacts", "community": 0.5}
    ds = scenarios.run(homogeneous(**HORIZON, levels=LEVELS, policies=[policy]))
    level = ds.epidemic_level.values
    cases = ds.cases_7d_per_100k.values
    expected = np.select([cases >= 150, cases >= 50, cases >= 20], [4, 3, 2], default=1)
    np.testing.assert_array_equal(level, expected)
    first3 = int(np.argmax(level >= 3))
    table = actions(ds)
    assert table.loc[table["event"] == "triggered", "day"].tolist() == [first3]
    rows = crossings(ds).set_index("criterion")
    assert rows.loc["level 3", "first_day"] == first3 and rows.loc["level 2", "first_day"] < first3


def test_crossings_of_stacked_replicates_match_each_run():
    runs = [
        scenarios.run(
            scenarios.load_config(CONFIGS / "phong_tho_new_variant.toml", overrides={"reporting.ascertainment": a})
        )
        for a in (0.25, 0.1)
    ]  # different crossing dates (cases) and the same overflow
    stacked = xr.concat(runs, dim=pd.Index([1, 2], name="replicate"))
    both = crossings(stacked)
    assert both.loc[both["criterion"] == "cases", "first_day"].nunique() == 2
    for seed, ds in zip((1, 2), runs, strict=True):
        one = crossings(ds)
        block = both[both["replicate"] == seed].drop(columns="replicate").reset_index(drop=True)
        pd.testing.assert_frame_equal(block, one, check_dtype=False)
