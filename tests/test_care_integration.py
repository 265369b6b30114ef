"""Care inside a full run: both engines feed the same care module; variables carry their metadata."""

from __future__ import annotations

import numpy as np
import pytest

import scenarios
from scenarios.care import CARE_VARIABLES
from scenarios.config.health import Care as CareConfig

from .conftest import CONFIGS, homogeneous

UNLIMITED = 1e9  # config numbers are bounded by MAX_NUMBER


def constrained(**extra):
    return homogeneous(
        scenario={"horizon_days": 200},
        capacity={"beds_oxygen": 150, "beds_icu": 10, "oxygen_generators_m3_per_day": 2500, **extra},
    )


def test_care_variables_are_in_the_dataset_with_metadata():
    ds = scenarios.run(constrained())
    for name in CARE_VARIABLES:
        attrs = ds[name].attrs
        assert attrs["units"] and attrs["long_name"] and attrs["cell_methods"] in ("time: sum", "time: point")
    assert ds["census_oxygen"].dims == ("time", "age_group")
    assert ds["oxygen_demand_m3_per_day"].dims == ("time",)
    assert ds["deaths"].attrs["cell_methods"] == "time: sum"
    assert ds["census_icu"].attrs["cell_methods"] == "time: point"


@pytest.mark.parametrize("engine", ["seir", "abm"])
def test_both_engines_respect_capacity_and_balance(engine):
    cfg = (
        constrained()
        if engine == "seir"
        else homogeneous(
            population={"total": 20_000},
            scenario={"horizon_days": 150},
            capacity={"beds_oxygen": 5, "beds_icu": 1, "oxygen_generators_m3_per_day": 200},
        )
    )
    ds = scenarios.run(cfg, engine=engine, seed=4)
    tot = ds.sum("age_group")
    assert float((tot.census_oxygen - tot.beds_oxygen_available).max()) <= 1e-7
    assert float((tot.census_icu - tot.icu_staffed_available).max()) <= 1e-7
    assert float(tot.unmet_oxygen.max()) > 0 and float(tot.deaths_without_care.sum()) > 0
    onsets = (tot.new_onsets_severe + tot.new_onsets_critical).cumsum("time")
    inside = tot.census_home + tot.census_oxygen + tot.census_icu + tot.unmet_oxygen + tot.unmet_icu
    left = (tot.discharges_oxygen + tot.discharges_icu + tot.recoveries_without_care + tot.deaths).cumsum("time")
    np.testing.assert_allclose(onsets, inside - _mild_at_home(ds) + left, atol=1e-6)
    if engine == "abm":
        assert np.array_equal(ds.census_icu.values, np.rint(ds.census_icu.values))


def _mild_at_home(ds):
    """Mild cases are in the tier-1 census for ``home_care_days`` (7 days, fixed) after onset."""
    mild = ds.new_onsets_mild.sum("age_group")
    return mild.rolling(time=7, min_periods=1).sum()


def test_without_limits_deaths_are_the_treated_baseline():
    cfg = homogeneous(
        scenario={"horizon_days": 365},
        capacity={"beds_oxygen": UNLIMITED, "beds_icu": UNLIMITED, "oxygen_generators_m3_per_day": UNLIMITED},
    )
    ds = scenarios.run(cfg)
    assert float(ds.deaths_without_care.sum()) == 0 and float(ds.unmet_oxygen.max()) == 0
    care = CareConfig()
    expected = float(
        (ds.new_onsets_severe.sum("time") * np.array(care.p_death_oxygen_by_age)).sum()
        + (ds.new_onsets_critical.sum("time") * np.array(care.p_death_icu_by_age)).sum()
    )
    assert float(ds.deaths.sum()) == pytest.approx(expected, rel=1e-4)  # the last stays end after day 365


def test_a_dated_surge_step_raises_capacity_in_the_results():
    cfg = constrained(
        surge=[{"name": "field hospital", "beds_oxygen": 300, "lead_time_days": 7, "activate_on": "2026-02-01"}]
    )
    ds = scenarios.run(cfg)
    beds = ds.beds_oxygen_available.to_series()
    assert beds.loc["2026-02-07"] == 150 and beds.loc["2026-02-08"] == 450


def test_queue_gives_more_deaths_than_lost_first_come_first_served():
    """docs/care.md: the queue admits waiting patients who would survive untreated ahead of new arrivals."""
    deaths = {}
    for mode in ("lost", "queue"):
        cfg = scenarios.load_config(CONFIGS / "phong_tho_new_variant.toml", {"care.overflow": mode})
        deaths[mode] = float(scenarios.run(cfg).deaths.sum())
    assert deaths["queue"] > deaths["lost"]
