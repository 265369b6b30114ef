"""Infection-acquired protection wanes on its own clock; the default gives a plausible reinfection rate."""

import pytest

import scenarios
from scenarios.config import Config, apply_overrides

from .analytic.test_seir_analytic import final_size


def _year(**immunity):
    cfg = Config.model_validate(
        {
            "scenario": {"name": "a year", "start_date": "2026-01-01", "horizon_days": 365},
            "population": {"total": 1_000_000, "contacts": "homogeneous"},
            "variants": {"resident": {"r0": 2.5, "initial_infections": 10}},
        }
    )
    return apply_overrides(cfg, {f"immunity.{k}": v for k, v in immunity.items()}) if immunity else cfg


def _infections_per_person(cfg):
    ds = scenarios.run(cfg)
    return float(ds.new_infections.sum()) / ds.attrs["population_total"]


def test_annual_infection_rate_at_r0_2_5_with_the_default_immunity():
    """At R0 = 2.5, about 1.2 infections per person in the first year (docs/immunity.md), not 2.3."""
    rate = _infections_per_person(_year())
    assert final_size(2.5) < rate < 1.25
    old = _infections_per_person(_year(waning_days_infection=180))  # waning as vaccination: the old default
    assert old > 2.0 and rate < 0.6 * old


def test_infection_acquired_protection_has_its_own_waning():
    cfg = _year(waning_days=30, waning_days_infection=0)
    ds = scenarios.run(cfg.model_copy(update={"scenario": cfg.scenario.model_copy(update={"horizon_days": 200})}))
    # Without infection-acquired waning, no one who recovered moves to 'waned' (no one was vaccinated).
    assert float(ds.n_by_immunity.sel(immunity="waned").sum("age_group").max()) == pytest.approx(0, abs=1e-6)
    ds = scenarios.run(_year(waning_days=0, waning_days_infection=100))
    assert float(ds.n_by_immunity.sel(immunity="waned").isel(time=-1).sum()) > 1e5
