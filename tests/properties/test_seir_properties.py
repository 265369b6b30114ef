"""Properties of the compartmental engine over random what-ifs (Hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scenarios
from scenarios.disease import DOSE3, build_disease
from scenarios.engines.base import DayInputs
from scenarios.engines.seir import CompartmentalEngine
from scenarios.population import build_population
from scenarios.simulate import contact_multipliers

from ..conftest import CONFIGS

fraction = st.floats(0.0, 1.0)
whatif = st.fixed_dictionaries(
    {
        "variants.new.transmissibility_multiplier": st.floats(0.5, 3.0),
        "variants.new.immune_escape": fraction,
        "variants.new.severe_escape": fraction,
        "variants.new.severity_multiplier": st.floats(0.2, 5.0),
        "variants.resident.rt_start": st.floats(0.5, 3.0),
        "immunity.initial_waned_share": fraction,
        "immunity.waning_days": st.sampled_from([0, 30, 180]),
        "reporting.ascertainment": fraction,
    }
)
FAST = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(whatif)
def test_nothing_is_ever_negative_and_people_are_conserved(overrides):
    cfg = scenarios.load_config(
        CONFIGS / "phong_tho_new_variant.toml", overrides={"scenario.horizon_days": 90, **overrides}
    )
    ds = scenarios.run(cfg)
    for name, var in ds.data_vars.items():
        assert float(var.min()) >= -1e-9 * ds.attrs["population_total"], name
    people = (ds.n_susceptible + ds.n_exposed + ds.n_infectious + ds.n_recovered).sum("age_group")
    np.testing.assert_allclose(people, ds.attrs["population_total"], rtol=1e-9)
    onsets = ds.new_onsets_mild + ds.new_onsets_severe + ds.new_onsets_critical
    np.testing.assert_allclose(onsets, ds.new_onsets, rtol=1e-9, atol=1e-9)


@FAST
@given(st.floats(1.1, 4.0), st.floats(1.01, 1.5))
def test_more_transmission_never_means_fewer_infections(r0, factor):
    def total(r):
        cfg = scenarios.load_config(
            CONFIGS / "homogeneous_r0_2.5.toml",
            overrides={"variants.resident.r0": r, "scenario.horizon_days": 200},
        )
        return float(scenarios.run(cfg).new_infections.sum())

    assert total(r0 * factor) >= total(r0)


def _engine(overrides=None):
    cfg = scenarios.load_config(CONFIGS / "an_giang_new_variant.toml", overrides=overrides)
    pop = build_population(cfg.population)
    dis = build_disease(cfg, pop, contact_multipliers(cfg, cfg.scenario.start_date))
    return pop, dis, CompartmentalEngine(cfg, pop, dis)


def test_booster_doses_move_people_to_dose3_and_conserve_them():
    pop, dis, eng = _engine()
    doses = np.full(9, 1000.0)
    before = eng._view(eng.y)["S"].copy()
    flows = eng.step(DayInputs(0, {}, np.zeros((2, 9)), doses))
    gained = flows.susceptible[DOSE3] - before[DOSE3]
    # No one is infectious (nothing imported), so dose3 only wanes, at rate 1/180 per day, boosted included.
    np.testing.assert_allclose(gained, (before[DOSE3] + doses) * np.exp(-1 / 180) - before[DOSE3], rtol=1e-6)
    total = flows.susceptible.sum() + flows.exposed.sum() + flows.infectious.sum()
    assert abs(total - pop.total) / pop.total < 1e-12


def test_booster_doses_are_capped_by_eligible_people():
    pop, _, eng = _engine({"population.total": 1000})
    flows = eng.step(DayInputs(0, {}, np.zeros((2, 9)), np.full(9, 1e6)))
    assert flows.susceptible[DOSE3].sum() <= pop.total + 1e-9
    assert flows.susceptible.min() >= 0


def test_imported_infections_are_counted_as_new_infections_of_that_variant():
    _, _, eng = _engine()
    imported = np.zeros((2, 9))
    imported[1, 3] = 50.0
    no_import = _engine()[2].step(DayInputs(0, {}, np.zeros((2, 9)), np.zeros(9)))
    flows = eng.step(DayInputs(0, {}, imported, np.zeros(9)))
    extra = flows.new_infections.sum(axis=1) - no_import.new_infections.sum(axis=1)
    assert extra[1, 3] >= 50.0 and extra[1, 3] < 50.5  # 50 seeded, plus a little onward spread within the day
