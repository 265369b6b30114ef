"""``validate`` is a guarantee: any config it accepts runs (short horizon) without an exception, both engines."""

import datetime as dt

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scenarios
from scenarios.config import N_AGE, Config, ConfigError
from scenarios.simulate import prepare

edge_fraction = st.sampled_from([0.0, 1.0, 0.5, 1e-9]) | st.floats(0, 1)
by_age = st.lists(edge_fraction, min_size=N_AGE, max_size=N_AGE)
multiplier = st.sampled_from([0.0, 1.0]) | st.floats(0, 5)


@st.composite
def configs(draw):
    start = draw(st.sampled_from([dt.date(2026, 12, 1)] * 8 + [dt.date(1850, 1, 1), dt.date(9999, 12, 1)]))
    weights = draw(st.lists(st.sampled_from([0.0, 1.0]) | st.floats(0, 1), min_size=N_AGE, max_size=N_AGE))
    population = {
        "total": draw(st.integers(1, 3000) | st.sampled_from([1, 2, 9, 40, 2**63 - 1]) | st.integers(10, 3000)),
        "contacts": draw(st.sampled_from(["prem2021", "homogeneous"])),
    }
    if sum(weights) > 0 and draw(st.booleans()):
        population["age_shares"] = [w / sum(weights) for w in weights]
    resident = {"initial_infections": draw(st.floats(0, 10) | st.sampled_from([0.0, 1.0, 5.0, 1e12]))}
    key = draw(st.sampled_from(["r0", "rt_start"]))
    resident[key] = draw(st.sampled_from([0.5, 2.5, 30.0]) | st.floats(0.01, 30))
    d2 = draw(by_age)
    data = {
        "scenario": {"name": "property", "start_date": start, "horizon_days": draw(st.integers(1, 6))},
        "population": population,
        "variants": {"resident": resident},
        "immunity": {
            "coverage_dose2_by_age": d2,
            "coverage_dose3_by_age": [x * draw(edge_fraction) for x in d2],
            "ve_infection_dose2": draw(st.sampled_from([0.088, 1.0]) | st.floats(0.088, 1)),
            "waning_days": draw(st.sampled_from([0.0, 1.0, 180.0, 5.0, 30.0, 0.0, 1.0, 1e-4])),
            "initial_waned_share": draw(edge_fraction),
        },
        "disease": {
            "latent_days": draw(st.sampled_from([1.0, 4.6, 2.0, 3.0, 1.5, 4.0, 10.0, 1e-9])),
            "infectious_days": draw(st.sampled_from([1.0, 2.1, 1.5, 3.0, 5.0, 2.0, 8.0, 1e-9])),
        },
        "interventions": [
            {"name": "day 0", "start_date": start, **{s: draw(multiplier) for s in ("home", "school", "work")}}
        ],
        "reporting": {"delay_mean_days": draw(st.floats(0, 10)), "delay_sd_days": draw(st.floats(0, 10))},
    }
    if draw(st.booleans()):
        data["variants"]["new"] = {
            "introduction_date": start + dt.timedelta(days=draw(st.integers(-3, 3))),
            "imported_per_day": draw(st.floats(0, 50) | st.sampled_from([0.0, 1.0, 1e308])),
            "immune_escape": draw(edge_fraction),
        }
    if draw(st.booleans()):
        data["abm"] = {"pop_scale": draw(st.sampled_from(["auto", 1, 2, 10**6]))}
    return data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=configs(), engine=st.sampled_from(["seir", "abm"]))
def test_a_config_that_validates_runs(data, engine):
    try:
        config = Config.model_validate(data)
        prepare(config)  # what `scenarios validate` checks beyond the schema
    except (pydantic.ValidationError, ConfigError):
        return  # refused with the usual message: fine
    ds = scenarios.run(config, engine=engine, seed=0)
    assert ds.sizes["time"] == config.scenario.horizon_days
    assert float(ds.new_infections.min()) >= 0


@pytest.mark.parametrize(
    "change",
    [
        {"population": {"total": 5000, "age_shares": [0, 0.2, 0.2, 0.2, 0.2, 0.2, 0, 0, 0]}},
        {"population": {"total": 12}},
        {"scenario": {"name": "t", "start_date": dt.date(2200, 12, 31), "horizon_days": 3650}},
    ],
)
@pytest.mark.parametrize("engine", ["seir", "abm"])
def test_edge_configs_that_validate_run(change, engine):
    data = {
        "scenario": {"name": "t", "start_date": dt.date(2026, 12, 1), "horizon_days": 5},
        "population": {"total": 5000},
        "variants": {"resident": {"rt_start": 2.0}},
    } | change
    config = Config.model_validate(data)
    if config.scenario.horizon_days > 5:
        config = config.model_copy(update={"scenario": config.scenario.model_copy(update={"horizon_days": 5})})
    ds = scenarios.run(config, engine=engine, seed=0)
    assert ds.sizes["time"] == 5
