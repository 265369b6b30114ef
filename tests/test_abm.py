"""Agent-based engine: conservation, seeds, fade-out, immunity, importations, scaling (fast tests)."""

import numpy as np
import pytest

import scenarios
from scenarios.config import Config
from scenarios.disease import DOSE2, DOSE3, INF_NEW, NAIVE, WANED, build_disease
from scenarios.engines.abm import AgentBasedEngine, generation_interval_pmf
from scenarios.engines.base import DayInputs
from scenarios.population import build_population
from scenarios.simulate import contact_multipliers, imported_infections


def make_config(
    total=20_000,
    contacts="prem2021",
    days=60,
    r0=2.5,
    initial=20,
    new=None,
    immunity=None,
    abm=None,
    interventions=(),
):
    data = {
        "scenario": {"name": "abm test", "start_date": "2025-01-01", "horizon_days": days},
        "population": {"total": total, "contacts": contacts},
        "variants": {"resident": {"r0": r0, "initial_infections": initial}},
        "immunity": immunity or {"waning_days": 0, "waning_days_infection": 0},
        "interventions": list(interventions),
    }
    if new:
        data["variants"]["new"] = new
    if abm:
        data["abm"] = abm
    return Config.model_validate(data)


def build(cfg, seed=0):
    pop = build_population(cfg.population)
    dis = build_disease(cfg, pop, contact_multipliers(cfg, cfg.scenario.start_date))
    return pop, dis, AgentBasedEngine(cfg, pop, dis, np.random.default_rng(seed))


def run_engine(cfg, seed=0, boosters=None):
    pop, dis, eng = build(cfg, seed)
    flows = []
    for day in range(cfg.scenario.horizon_days):
        date = cfg.scenario.start_date.fromordinal(cfg.scenario.start_date.toordinal() + day)
        b = np.zeros(9) if boosters is None else boosters(day)
        inputs = DayInputs(day, contact_multipliers(cfg, date), imported_infections(cfg, pop, day), b)
        flows.append(eng.step(inputs))
    return pop, dis, eng, flows


def test_people_are_conserved_and_flows_are_whole_people():
    cfg = make_config(
        new={
            "transmissibility_multiplier": 1.5,
            "immune_escape": 0.5,
            "introduction_date": "2025-01-11",
            "imported_per_day": 20,
            "import_days": 5,
        }
    )
    pop, dis, eng, flows = run_engine(cfg)
    n = eng.synth.n_agents
    cum_inf = np.zeros_like(flows[0].new_infections)
    for f in flows:
        assert f.susceptible.sum() + f.exposed.sum() + f.infectious.sum() == n
        assert np.all(f.susceptible >= 0) and np.all(f.exposed >= 0) and np.all(f.infectious >= 0)
        assert np.all(f.new_infections == np.rint(f.new_infections))
        cum_inf += f.new_infections
    assert cum_inf[1].sum() > 100  # the new variant spread
    assert flows[0].new_infections.sum() == pytest.approx(20, abs=1)  # initial infections seeded on day 0
    assert eng.model.datacollector.get_model_vars_dataframe().shape[0] == cfg.scenario.horizon_days


def test_same_seed_same_results_other_seed_differs():
    cfg = make_config(total=10_000, days=40)
    a = scenarios.run(cfg, engine="abm", seed=5)
    b = scenarios.run(cfg, engine="abm", seed=5)
    c = scenarios.run(cfg, engine="abm", seed=6)
    for v in (
        "new_infections",
        "n_susceptible",
        "n_exposed",
        "n_infectious",
        "n_recovered",
        "new_onsets_severe",
    ):
        np.testing.assert_array_equal(a[v].values, b[v].values)
    assert not np.array_equal(a.new_infections.values, c.new_infections.values)


def _extinction_probability(dis, r0):
    """Branching process with Poisson offspring given the engine's number of infectious days."""
    from scenarios.engines.abm import _infectious_days

    first, end = _infectious_days(dis, 200_000, 1)
    n = end - first
    q = 0.0
    for _ in range(500):
        q = np.mean(np.exp(-r0 * n / n.mean() * (1 - q)))
    return q


def test_stochastic_fade_out_from_one_infection():
    r0 = 1.5
    cfg = make_config(total=20_000, contacts="homogeneous", days=60, r0=r0, initial=1)
    _, dis, _ = build(cfg)
    q = _extinction_probability(dis, r0)  # about 0.6 for R0 = 1.5 with short, variable infectious periods
    faded = []
    for seed in range(60):
        _, _, eng, flows = run_engine(cfg, seed=seed)
        total = sum(f.new_infections.sum() for f in flows)
        faded.append(total < 50 and flows[-1].exposed.sum() + flows[-1].infectious.sum() == 0)
    assert np.mean(faded) == pytest.approx(q, abs=3 * np.sqrt(q * (1 - q) / 60))


def test_waning_and_boosters_move_strata_at_the_configured_rates():
    immunity = {"coverage_dose2_by_age": [1.0] * 9, "waning_days": 50}
    cfg = make_config(total=20_000, days=30, initial=0, immunity=immunity)
    doses = np.full(9, 100.0)
    _, _, eng, flows = run_engine(cfg, boosters=lambda day: doses if day == 29 else np.zeros(9))
    s = flows[-1].susceptible
    # 30 days at rate 1/50 a day: 1 - exp(-30/50) waned, among agents not boosted on the last day.
    expected = 1 - np.exp(-30 / 50)
    assert (s[WANED].sum() + 900 * expected) / 20_000 == pytest.approx(expected, abs=0.015)
    assert s[DOSE3].sum() == 900 and s[NAIVE].sum() == 0
    assert s[DOSE2].sum() + s[WANED].sum() + s[DOSE3].sum() == 20_000


def test_immune_escape_lets_the_new_variant_infect_the_vaccinated():
    immunity = {
        "coverage_dose2_by_age": [1.0] * 9,
        "ve_infection_dose2": 0.9,
        "ve_infection_waned": 0.0,
        "waning_days": 0,
    }
    new = {
        "transmissibility_multiplier": 1.0,
        "immune_escape": 0.8,
        "introduction_date": "2025-01-02",
        "imported_per_day": 50,
        "import_days": 2,
    }
    cfg = make_config(total=20_000, days=40, initial=50, new=new, immunity=immunity, r0=3.0)
    _, dis, eng, flows = run_engine(cfg)
    inf = sum(f.new_infections for f in flows)
    # Everyone is dose2: resident R = 3 * 0.1 < 1 fizzles, the new variant (R = 3 * 0.72) spreads.
    assert inf[1, DOSE2].sum() > 10 * inf[0, DOSE2].sum()
    assert flows[-1].susceptible[INF_NEW].sum() > 0


def test_interventions_scale_settings_like_seir():
    closed = [
        {
            "name": "lockdown",
            "start_date": "2025-01-01",
            "school": 0.0,
            "work": 0.0,
            "community": 0.0,
            "home": 0.0,
        }
    ]
    cfg = make_config(days=30, interventions=closed)
    _, _, _, flows = run_engine(cfg)
    assert sum(f.new_infections.sum() for f in flows) == pytest.approx(20, abs=1)  # only the seeds


def test_pop_scale_scales_outputs_back_to_people():
    cfg = make_config(total=100_000, days=50, initial=200, abm={"pop_scale": 10})
    ds = scenarios.run(cfg, engine="abm", seed=1)
    stock = ds.n_susceptible + ds.n_recovered + ds.n_exposed + ds.n_infectious
    np.testing.assert_allclose(stock.sum("age_group").values, 100_000, atol=10)
    assert np.all(ds.new_infections.values % 10 == 0)
    assert ds.new_infections.sum() > 1000
    assert ds.attrs["abm_pop_scale"] == 10 and ds.attrs["abm_n_agents"] == pytest.approx(10_000, abs=10)


def test_generation_interval_matches_natural_history():
    cfg = make_config()
    _, dis, _ = build(cfg)
    g = generation_interval_pmf(dis)
    k = np.arange(len(g))
    # Mean generation interval of SEIR with Erlang stages: L + E[D^2] / (2 E[D]) = L + D (k + 1) / (2 k).
    mean = dis.latent_days + dis.infectious_days * (dis.infectious_stages + 1) / (2 * dis.infectious_stages)
    assert g @ k == pytest.approx(mean, abs=0.05)
