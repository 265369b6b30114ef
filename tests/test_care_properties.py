"""Property tests (Hypothesis): for any capacities, onsets, staff absence and overflow rule, in both modes,
occupancy stays within capacity, nothing is negative, and every person is accounted for every day."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.capacity import HealthSystem
from scenarios.care import CARE_VARIABLES, Care
from scenarios.config.health import Capacity, Oxygen
from scenarios.config.health import Care as CareConfig

N_DAYS = 60


@st.composite
def scenarios_(draw):
    stochastic = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    gen = np.random.default_rng(seed)
    scale = draw(st.floats(0.1, 60))
    severe = gen.gamma(0.7, scale, size=(N_DAYS, 9))
    critical = gen.gamma(0.7, scale / 4, size=(N_DAYS, 9))
    if stochastic:
        severe, critical = np.rint(severe), np.rint(critical)
    capacity = Capacity(
        beds_oxygen=draw(st.floats(0, 300)),
        beds_icu=draw(st.floats(0, 40)),
        oxygen_generators_m3_per_day=draw(st.floats(0, 8000)),
        non_covid_share_icu=draw(st.floats(0, 0.9)),
        icu_staffed_share=draw(st.floats(0.1, 1)),
        staff_absence_per_prevalence=draw(st.floats(0, 20)),
    )
    prevalence = gen.uniform(0, 0.05, size=N_DAYS) * draw(st.sampled_from([0.0, 1.0]))
    care = CareConfig(overflow=draw(st.sampled_from(["lost", "queue"])))
    oxygen = Oxygen(flow_severe_l_per_min=draw(st.sampled_from([3.0, 10.0])))
    rng = np.random.default_rng(seed) if stochastic else None
    model = Care(care, oxygen, HealthSystem(capacity, oxygen, 100_000, dt.date(2027, 1, 1)), rng)
    return model, severe, critical, prevalence


@settings(max_examples=40, deadline=None)
@given(scenarios_())
def test_capacity_bounds_and_accounting_hold_for_any_inputs(case):
    care, severe, critical, prevalence = case
    days = [care.step(d, severe[d], critical[d], prevalence=prevalence[d]) for d in range(N_DAYS)]
    r = {name: np.stack([day[name] for day in days]) for name in CARE_VARIABLES}
    tol = 1e-7
    for name in CARE_VARIABLES:
        assert np.all(r[name] >= -tol), name
    assert np.all(r["census_oxygen"].sum(1) <= r["beds_oxygen_available"] + tol)
    assert np.all(r["census_icu"].sum(1) <= r["icu_staffed_available"] + tol)
    assert np.all(r["oxygen_used_m3_per_day"] <= r["oxygen_supply_m3_per_day"] + tol)
    inside = r["census_home"] + r["census_oxygen"] + r["census_icu"] + r["unmet_oxygen"] + r["unmet_icu"]
    left = np.cumsum(r["discharges_oxygen"] + r["discharges_icu"] + r["recoveries_without_care"] + r["deaths"], 0)
    np.testing.assert_allclose(np.cumsum(severe + critical, 0), inside + left, atol=1e-6)
    prev = np.vstack([np.zeros((1, 9)), r["census_icu"][:-1]])
    np.testing.assert_allclose(
        r["census_icu"] - prev,
        r["admissions_icu"]
        - r["stepdowns_icu_to_oxygen"]
        - r["discharges_icu"]
        - r["deaths_in_icu"]
        - r["displaced_icu"],
        atol=1e-8,
    )
