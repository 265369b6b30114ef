"""Capacity over time: per-100,000 defaults vs absolute counts, non-COVID occupancy, staff absence,
oxygen supply from its sources, surge steps with lead times (by date and by activation)."""

from __future__ import annotations

import datetime as dt

import pydantic
import pytest

from scenarios.capacity import HealthSystem, build_health_system, cylinder_m3
from scenarios.config.health import Capacity, Oxygen, SurgeStep

from .conftest import homogeneous

START = dt.date(2027, 1, 1)


def system(population: float = 100_000, **capacity) -> HealthSystem:
    return HealthSystem(Capacity(**capacity), Oxygen(), population, START)


@pytest.mark.parametrize("population", [3_683_601, 8_160_000, 80_000])
def test_per_100k_defaults_scale_with_population(population):
    day = system(population).on(0)
    assert day.beds_oxygen == pytest.approx(48 * population / 1e5)
    assert day.beds_icu == pytest.approx(3.5 * population / 1e5)
    assert day.icu_staffed == pytest.approx(3.5 * population / 1e5)
    assert day.oxygen_supply_m3_per_day == pytest.approx(868 * population / 1e5)


def test_absolute_counts_win_and_non_covid_share_is_removed():
    day = system(
        80_000,
        beds_oxygen=25,
        beds_oxygen_per_100k=999,
        beds_icu=4,
        non_covid_share_oxygen=0.2,
        non_covid_share_icu=0.5,
        icu_staffed_share=0.5,
    ).on(0)
    assert day.beds_oxygen == pytest.approx(20)
    assert day.beds_icu == pytest.approx(2)
    assert day.icu_staffed == pytest.approx(1)


def test_staff_absence_rises_with_prevalence_up_to_its_ceiling():
    hs = system(beds_icu=100, staff_absence_per_prevalence=5.0, staff_absence_max=0.3)
    assert hs.on(0, prevalence=0).icu_staffed == 100
    assert hs.on(0, prevalence=0.02).icu_staffed == pytest.approx(90)
    assert hs.on(0, prevalence=0.5).icu_staffed == pytest.approx(70)
    assert hs.on(0, prevalence=0.5).beds_icu == 100  # absence takes staff, not beds
    assert system(beds_icu=100).on(0, prevalence=0.5).icu_staffed == 100  # off by default


def test_oxygen_supply_sums_its_sources():
    hs = system(oxygen_liquid_tonnes_per_day=2, oxygen_cylinders_per_day=100, oxygen_generators_m3_per_day=500)
    expected = 2 * 738 + 100 * 40 * 150 / 1.01325 / 1000 + 500
    assert hs.on(0).oxygen_supply_m3_per_day == pytest.approx(expected, rel=1e-12)
    assert system(oxygen_generators_m3_per_day=0).on(0).oxygen_supply_m3_per_day == 0  # a source given: no default


@pytest.mark.parametrize(("litres", "bar", "real"), [(40, 150, 6.4), (40, 200, 8.5), (50, 200, 10.6), (10, 150, 1.6)])
def test_cylinder_content_ideal_and_real_gas(litres, bar, real):
    ideal = Oxygen(cylinder_water_litres=litres, cylinder_pressure_bar=bar)
    assert cylinder_m3(ideal) == pytest.approx(litres * bar / 1.01325 / 1000, rel=1e-12)
    gas = Oxygen(cylinder_water_litres=litres, cylinder_pressure_bar=bar, cylinder_gas="real")
    assert cylinder_m3(gas) == pytest.approx(real, abs=0.06)  # CoolProp figures of docs/sources.md s.3


def test_real_gas_table_stops_at_200_bar():
    with pytest.raises(pydantic.ValidationError, match="200 bar"):
        Oxygen(cylinder_pressure_bar=300, cylinder_gas="real")


def test_surge_step_by_date_comes_online_after_its_lead_time():
    step = SurgeStep(
        name="field hospital",
        beds_oxygen=200,
        beds_icu=10,
        oxygen_m3_per_day=1000,
        lead_time_days=7,
        activate_on=START + dt.timedelta(days=10),
    )
    hs = system(beds_oxygen=100, beds_icu=5, oxygen_generators_m3_per_day=50, surge=(step,))
    before, after = hs.on(16), hs.on(17)
    assert (before.beds_oxygen, before.beds_icu, before.oxygen_supply_m3_per_day) == (100, 5, 50)
    assert (after.beds_oxygen, after.beds_icu, after.oxygen_supply_m3_per_day) == (300, 15, 1050)
    assert hs.in_service(17) == ["field hospital"]


def test_surge_step_activated_by_a_policy():
    steps = (
        SurgeStep(name="icu centre", beds_icu_per_100k=2, lead_time_days=3),
        SurgeStep(name="oxygen", oxygen_m3_per_day=100, lead_time_days=0),
    )
    hs = system(200_000, beds_icu=10, surge=steps)
    assert hs.on(50).beds_icu == 10  # never activated
    assert hs.activate("icu centre", 20) is True
    assert hs.activate("icu centre", 25) is False  # the first activation counts
    assert hs.activated_on("icu centre") == 20
    assert hs.on(22).beds_icu == 10 and hs.on(23).beds_icu == pytest.approx(14)
    hs.activate("oxygen", 5)
    assert hs.on(5).oxygen_supply_m3_per_day == pytest.approx(868 * 2 + 100)
    with pytest.raises(KeyError, match="icu centre"):
        hs.activate("field hospital", 1)


def test_earlier_activation_replaces_a_later_planned_date():
    step = SurgeStep(name="field", beds_oxygen=50, lead_time_days=5, activate_on=START + dt.timedelta(days=30))
    hs = system(beds_oxygen=10, surge=(step,))
    assert hs.activate("field", 10) is True  # a trigger fires before the planned date
    assert hs.on(15).beds_oxygen == 60


def test_step_activated_before_the_start_is_in_service_on_day_0():
    step = SurgeStep(name="field", beds_oxygen=50, lead_time_days=5, activate_on=START - dt.timedelta(days=30))
    assert system(beds_oxygen=10, surge=(step,)).on(0).beds_oxygen == 60


def test_surge_step_names_are_unique():
    with pytest.raises(pydantic.ValidationError, match="unique"):
        Capacity(surge=(SurgeStep(name="a"), SurgeStep(name="a")))


def test_whole_config_builds_a_health_system_from_the_population():
    cfg = homogeneous(capacity={"beds_icu": 7}, oxygen={"cylinder_pressure_bar": 200})
    hs = build_health_system(cfg, 1_000_000)
    assert hs.on(0).beds_icu == 7
    assert hs.on(0).beds_oxygen == pytest.approx(480)
