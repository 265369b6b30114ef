"""Closed-form checks of the compartmental engine: final size, growth rate, R0, conservation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

import scenarios
from scenarios.disease import build_disease, next_generation_matrix, spectral_radius
from scenarios.engines.seir import CompartmentalEngine
from scenarios.population import build_population
from scenarios.simulate import contact_multipliers

from ..conftest import homogeneous


def final_size(r0: float) -> float:
    return brentq(lambda z: 1 - np.exp(-r0 * z) - z, 1e-6, 1.0)


@pytest.mark.parametrize("r0", [1.5, 2.5, 4.0])
def test_homogeneous_final_size_matches_final_size_equation(r0):
    ds = scenarios.run(homogeneous(variants={"resident": {"r0": r0}}, scenario={"horizon_days": 500}))
    attack = float(ds.new_infections.sum()) / ds.attrs["population_total"]
    assert attack == pytest.approx(final_size(r0), rel=0.005)
    if r0 == 2.5:
        assert attack == pytest.approx(0.8926, rel=0.005)


def test_people_are_conserved_every_day():
    cfg = scenarios.load_config("configs/an_giang_new_variant.toml", overrides={"immunity.waning_days": 60})
    ds = scenarios.run(cfg)
    people = (ds.n_susceptible + ds.n_exposed + ds.n_infectious + ds.n_recovered).sum("age_group")
    total = ds.attrs["population_total"]
    assert float(np.abs(people - total).max()) / total < 1e-9
    by_stratum = ds.n_by_immunity.sum(("immunity", "age_group")) + (ds.n_exposed + ds.n_infectious).sum("age_group")
    assert float(np.abs(by_stratum - total).max()) / total < 1e-9


def _model(cfg):
    pop = build_population(cfg.population)
    dis = build_disease(cfg, pop, contact_multipliers(cfg, cfg.scenario.start_date))
    return pop, dis, CompartmentalEngine(cfg, pop, dis)


def _jacobian_infected(engine: CompartmentalEngine) -> np.ndarray:
    """Jacobian of the E and I equations at the disease-free state (exact: they are linear in E, I)."""
    y0 = engine.y.copy()
    sl_e, sl_i = engine._slices["E"], engine._slices["I"]
    idx = np.r_[np.arange(sl_e.start, sl_e.stop), np.arange(sl_i.start, sl_i.stop)]
    contacts = engine.population.contact_matrix()
    f0 = engine.rhs(0, y0, contacts)[idx]
    jac = np.empty((idx.size, idx.size))
    for col, k in enumerate(idx):
        y = y0.copy()
        y[k] += 1.0
        jac[:, col] = engine.rhs(0, y, contacts)[idx] - f0
    return jac


def _observed_growth_rate(ds, day_from: int, day_to: int) -> float:
    inc = ds.new_infections.sum("age_group").values
    return float(np.log(inc[day_to] / inc[day_from]) / (day_to - day_from))


@pytest.mark.parametrize("config", ["homogeneous", "configs/an_giang_new_variant.toml"])
def test_early_growth_rate_is_dominant_eigenvalue_of_linearised_system(config):
    if config == "homogeneous":
        cfg = homogeneous(variants={"resident": {"initial_infections": 1}})
    else:  # age-structured Prem mixing, immunity strata; one variant so the wave stays in its linear phase
        cfg = scenarios.load_config(
            config,
            overrides={
                "variants.new": None,
                "variants.resident.rt_start": 2.0,
                "variants.resident.initial_infections": 1,
                "immunity.waning_days": 0,
                "immunity.waning_days_infection": 0,
            },
        )
    _, _, engine = _model(cfg)
    r_theory = max(np.linalg.eigvals(_jacobian_infected(engine)).real)
    ds = scenarios.run(cfg.model_copy(update={"scenario": cfg.scenario.model_copy(update={"horizon_days": 60})}))
    r_sim = _observed_growth_rate(ds, 30, 50)
    assert r_sim == pytest.approx(r_theory, rel=0.01)


def test_growth_rate_satisfies_euler_lotka_for_erlang_stages():
    """Independent check of the eigenvalue: 1 = R0 (1 + r/(kE s))^-kE (1 - (1 + r D/kI)^-kI) / (r D)."""
    cfg = homogeneous(variants={"resident": {"initial_infections": 1}}, disease={"latent_stages": 3})
    d = cfg.disease
    s, ke, ki, dur = 1 / d.latent_days, d.latent_stages, d.infectious_stages, d.infectious_days

    def lotka(r):
        return 2.5 * (1 + r / (ke * s)) ** -ke * (1 - (1 + r * dur / ki) ** -ki) / (r * dur) - 1

    r_theory = brentq(lotka, 1e-4, 2.0)
    _, _, engine = _model(cfg)
    assert max(np.linalg.eigvals(_jacobian_infected(engine)).real) == pytest.approx(r_theory, rel=1e-9)


@pytest.mark.parametrize("target", ["r0", "rt_start"])
def test_transmission_rate_reproduces_r0_through_next_generation_matrix(target):
    cfg = scenarios.load_config(
        "configs/ha_noi_new_variant.toml",
        overrides={
            "variants.resident.rt_start": None,
            "variants.resident.r0": None,
            f"variants.resident.{target}": 3.0,
            "interventions": [{"name": "day-0 closure", "start_date": "2026-12-01", "school": 0.0}],
        },
    )
    pop, dis, _ = _model(cfg)
    if target == "r0":
        susceptible, mult = pop.sizes, None
    else:
        susceptible, mult = dis.susceptibility[0] @ dis.initial_strata, {"school": 0.0}
    ngm = next_generation_matrix(pop, dis.beta[0], cfg.disease.infectious_days, susceptible, mult)
    assert spectral_radius(ngm) == pytest.approx(3.0, rel=1e-12)
    # The new variant's NGM in a naive population is the multiplier times the resident's.
    ngm_new = next_generation_matrix(pop, dis.beta[1], cfg.disease.infectious_days, pop.sizes)
    ngm_res = next_generation_matrix(pop, dis.beta[0], cfg.disease.infectious_days, pop.sizes)
    assert spectral_radius(ngm_new) / spectral_radius(ngm_res) == pytest.approx(1.6, rel=1e-12)


def test_age_structured_final_size_matches_multigroup_equation():
    """ln(1 - z_a) = -beta D sum_b C[a, b] z_b for the Prem-mixed population, full immunity after infection."""
    cfg = scenarios.load_config(
        "configs/phong_tho.toml",
        overrides={
            "variants.resident": {"r0": 2.0, "rt_start": None, "initial_infections": 1},
            "immunity": {
                "coverage_dose2_by_age": [0.0] * 9,
                "coverage_dose3_by_age": [0.0] * 9,
                "prior_infection_by_age": [0.0] * 9,
                "ve_infection_prior": 1.0,
                "ve_severe_prior": 1.0,
                "waning_days": 0,
                "waning_days_infection": 0,
            },
            "scenario.horizon_days": 400,
        },
    )
    pop, dis, _ = _model(cfg)
    k = dis.beta[0] * cfg.disease.infectious_days * pop.contact_matrix()
    z = np.full(9, 0.5)
    for _ in range(2000):
        z = 1 - np.exp(-k @ z)
    ds = scenarios.run(cfg)
    attack = ds.new_infections.sum("time").values / pop.sizes
    np.testing.assert_allclose(attack, z, rtol=0.005)
