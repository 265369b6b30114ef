"""Agent-based stocks equal a recount of the agents' own state every day, and are never negative."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scenarios.config import N_AGE, Config
from scenarios.disease import build_disease
from scenarios.engines.abm import INFECTIOUS, LATENT, SUSCEPTIBLE, AgentBasedEngine
from scenarios.engines.base import DayInputs
from scenarios.population import build_population
from scenarios.simulate import contact_multipliers, imported_infections


def recount(m):
    """Stocks from the agents' arrays, independent of the engine's running counts."""
    sus = np.zeros((m.n_stratum, N_AGE), dtype=np.int64)
    ok = m.state == SUSCEPTIBLE
    np.add.at(sus, (m.stratum[ok], m.band[ok]), 1)
    out = [sus]
    for state in (LATENT, INFECTIOUS):
        c = np.zeros((m.n_variant, N_AGE), dtype=np.int64)
        ok = m.state == state
        np.add.at(c, (m.variant[ok], m.band[ok]), 1)
        out.append(c)
    return out


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    rt=st.floats(1.2, 20),
    waning_days=st.floats(3, 120),
    booster=st.floats(0, 30),
)
def test_stocks_equal_a_recount_of_the_agents(seed, rt, waning_days, booster):
    cfg = Config.model_validate(
        {
            "scenario": {"name": "recount", "start_date": "2025-01-01", "horizon_days": 45},
            "population": {"total": 3000},
            "variants": {
                "resident": {"rt_start": rt, "initial_infections": 30},
                "new": {
                    "transmissibility_multiplier": 1.5,
                    "immune_escape": 0.5,
                    "introduction_date": "2025-01-05",
                    "imported_per_day": 5,
                    "import_days": 10,
                },
            },
            "immunity": {
                "waning_days": waning_days,
                "coverage_dose2_by_age": [0.5] * N_AGE,
                "coverage_dose3_by_age": [0.2] * N_AGE,
                "prior_infection_by_age": [0.3] * N_AGE,
            },
        }
    )
    pop = build_population(cfg.population)
    dis = build_disease(cfg, pop, contact_multipliers(cfg, cfg.scenario.start_date))
    eng = AgentBasedEngine(cfg, pop, dis, np.random.default_rng(seed))
    m = eng.model
    for day in range(cfg.scenario.horizon_days):
        date = cfg.scenario.start_date.fromordinal(cfg.scenario.start_date.toordinal() + day)
        doses = np.full(N_AGE, booster)
        eng.step(DayInputs(day, contact_multipliers(cfg, date), imported_infections(cfg, pop, day), doses))
        sus, lat, inf = recount(m)
        np.testing.assert_array_equal(m.counts_susceptible, sus, err_msg=f"day {day}")
        np.testing.assert_array_equal(m.counts_exposed, lat, err_msg=f"day {day}")
        np.testing.assert_array_equal(m.counts_infectious, inf, err_msg=f"day {day}")
        assert (m.counts_susceptible >= 0).all()
