"""Case isolation: the reproduction number falls by what the next-generation matrix predicts."""

import numpy as np
import pytest

import scenarios
from scenarios.config import Config, apply_overrides
from scenarios.config.base import Isolation
from scenarios.disease import next_generation_matrix, spectral_radius
from scenarios.simulate import contact_multipliers, prepare


@pytest.mark.parametrize(("delay", "stages"), [(0.0, 1), (1.0, 2), (2.5, 3), (10.0, 2)])
def test_remaining_share_matches_monte_carlo_of_the_erlang_period(delay, stages):
    rng = np.random.default_rng(0)
    t = rng.gamma(stages, 2.1 / stages, 2_000_000)
    expected = np.maximum(t - delay, 0).mean() / t.mean()
    assert Isolation(share_detected=1, delay_days=delay).remaining_share(2.1, stages) == pytest.approx(
        expected, abs=2e-3
    )


def _config(isolation=None, **extra):
    data = {
        "scenario": {"name": "iso", "start_date": "2026-01-01", "horizon_days": 80},
        "population": {"province": "An Giang"},
        "variants": {"resident": {"r0": 2.5, "initial_infections": 100}},
        "immunity": {"waning_days": 0, "waning_days_infection": 0},
    }
    if isolation is not None:
        data["interventions"] = [{"name": "F0", "start_date": "2026-01-01", "isolation": isolation}]
    return apply_overrides(Config.model_validate(data), extra) if extra else Config.model_validate(data)


def test_r_falls_by_the_isolated_share_and_timing():
    iso = {"share_detected": 0.6, "delay_days": 1.5, "contact_factor": 0.2}
    base, isolated = _config(), _config(iso)
    pop, dis = prepare(base)
    naive = pop.sizes
    r = {}
    for name, cfg in (("base", base), ("isolated", isolated)):
        mult = contact_multipliers(cfg, cfg.scenario.start_date)
        r[name] = spectral_radius(next_generation_matrix(pop, dis.beta[0], 2.1, naive, mult))
    q = Isolation(**iso).remaining_share(2.1, 2)
    assert r["base"] == pytest.approx(2.5, rel=1e-9)
    assert r["isolated"] == pytest.approx(2.5 * (1 - 0.6 * (1 - 0.2) * q), rel=1e-9)


def test_the_simulated_epidemic_grows_at_the_rate_the_isolated_r_predicts():
    """Early growth r solves the Euler-Lotka equation of the Erlang SEIR with R from the NGM.

    ``1/R = (1 + r L / kE)^-kE (1 - (1 + r D / kI)^-kI) / (r D)`` (latent Erlang, then infectious while the
    Erlang period lasts); with one stage each it is R = (1 + r L)(1 + r D).
    """
    from scipy.optimize import brentq

    iso = {"share_detected": 0.4, "delay_days": 1.0, "contact_factor": 0.0}
    ds = scenarios.run(_config(iso, **{"variants.resident.initial_infections": 1}))
    inc = ds.new_infections.sum("age_group").values
    r_sim = np.log(inc[60] / inc[30]) / 30
    big_r = 2.5 * (1 - 0.4 * Isolation(**iso).remaining_share(2.1, 2))

    def euler_lotka(r):
        return r * 2.1 * (1 + r * 4.6 / 2) ** 2 / (1 - (1 + r * 2.1 / 2) ** -2) - big_r

    assert r_sim == pytest.approx(brentq(euler_lotka, 1e-6, 5), rel=0.01)


def test_isolation_as_a_triggered_policy_and_in_the_agent_based_engine():
    policy = {
        "name": "isolate F0",
        "trigger": "activation",
        "action": "contacts",
        "delay_days": 1,
        "isolation": {"share_detected": 0.7, "delay_days": 1.0},
    }
    cfg = _config(**{"population.province": None, "population.total": 20_000, "scenario.horizon_days": 120})
    with_policy = apply_overrides(cfg, {"policies": [policy]})
    for engine in ("seir", "abm"):
        plain = scenarios.run(cfg, engine=engine, seed=1)
        responded = scenarios.run(with_policy, engine=engine, seed=1)
        assert float(responded.new_infections.sum()) < float(plain.new_infections.sum())


@pytest.mark.parametrize("engine", ["seir", "abm"])
def test_final_size_follows_the_isolated_r_in_both_engines(engine):
    """Person by person (agents) or in the mean (SEIR), the epidemic's final size is that of R_iso."""
    from scipy.optimize import brentq

    iso = {"share_detected": 0.5, "delay_days": 1.0, "contact_factor": 0.0}
    data = {
        "scenario": {"name": "iso", "start_date": "2026-01-01", "horizon_days": 250},
        "population": {"total": 60_000, "contacts": "homogeneous"},
        "variants": {"resident": {"r0": 2.0, "initial_infections": 60}},
        "immunity": {"waning_days": 0, "waning_days_infection": 0, "ve_infection_prior": 1.0},
        "interventions": [{"name": "F0", "start_date": "2026-01-01", "isolation": iso}],
    }
    ds = scenarios.run(Config.model_validate(data), engine=engine, seed=3)
    big_r = 2.0 * Isolation(**iso).multiplier(2.1, 2)
    z = brentq(lambda z: 1 - z - np.exp(-big_r * z), 1e-6, 1)
    attack = float(ds.new_infections.sum()) / 60_000
    assert attack == pytest.approx(z, abs=0.005 if engine == "seir" else 0.02)
    without = 2.0
    assert big_r < without * 0.75  # the regime matters: R 2.0 -> 1.43
