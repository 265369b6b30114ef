"""Agent-based engine against the SEIR engine and the configured R0 (large N; marked slow)."""

import numpy as np
import pytest

import scenarios
from scenarios.config import Config
from scenarios.disease import build_disease
from scenarios.engines.abm import generation_interval_pmf
from scenarios.population import build_population


def _config(total, contacts, days, initial):
    return Config.model_validate(
        {
            "scenario": {"name": "validation", "start_date": "2025-01-01", "horizon_days": days},
            "population": {"total": total, "contacts": contacts},
            "variants": {"resident": {"r0": 2.5, "initial_infections": initial}},
            "immunity": {"waning_days": 0, "waning_days_infection": 0},
        }
    )


@pytest.mark.slow
def test_homogeneous_large_n_matches_seir_final_size_and_peak():
    cfg = _config(1_000_000, "homogeneous", 150, 200)
    seir = scenarios.run(cfg, engine="seir").new_infections.sum("age_group").values
    for seed in (1, 2):
        abm = scenarios.run(cfg, engine="abm", seed=seed).new_infections.sum("age_group").values
        assert abm.sum() == pytest.approx(seir.sum(), rel=0.02)
        assert abs(int(np.argmax(abm)) - int(np.argmax(seir))) <= 2


@pytest.mark.slow
def test_layered_population_early_growth_matches_r0_through_the_generation_interval():
    n = 1_000_000
    cfg = _config(n, "prem2021", 40, 100)
    pop = build_population(cfg.population)
    g = generation_interval_pmf(build_disease(cfg, pop, {}))
    lags = np.arange(len(g))
    estimates = []
    for seed in (1, 2, 3):
        daily = scenarios.run(cfg, engine="abm", seed=seed).new_infections.sum("age_group").values
        end = int(np.searchsorted(np.cumsum(daily) / n, 0.02))  # before depletion matters
        days = np.arange(8, end)  # after the seeds' first generation
        r = np.polyfit(days, np.log(daily[days]), 1)[0]
        estimates.append(1 / np.sum(g * np.exp(-r * lags)))  # Wallinga & Lipsitch 2007
    assert np.mean(estimates) == pytest.approx(2.5, rel=0.10)
