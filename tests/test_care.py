"""Three-tier care: oxygen arithmetic, balance identities, capacity bounds, Little's law, overflow, deaths.

Every test runs the one care implementation in both modes where it applies: deterministic (expected
values, as the compartmental engine) and stochastic (integer draws, as the agent-based engine).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from scenarios.capacity import HealthSystem, cylinder_m3, m3_per_day
from scenarios.care import CARE_VARIABLES, Care, day_kernel
from scenarios.config.health import Capacity, Duration, Oxygen, SurgeStep
from scenarios.config.health import Care as CareConfig

from .conftest import homogeneous

START = dt.date(2027, 1, 1)
UNLIMITED = 1e9  # config numbers are bounded by MAX_NUMBER
MODES = ["deterministic", "stochastic"]
OVERFLOW = ["lost", "queue"]


def make_care(
    mode: str = "deterministic",
    beds_oxygen: float = UNLIMITED,
    beds_icu: float = UNLIMITED,
    oxygen_m3: float = UNLIMITED,
    seed: int = 1,
    capacity: dict | None = None,
    oxygen: Oxygen | None = None,
    **care,
) -> Care:
    oxygen = oxygen or Oxygen()
    cap = Capacity(
        beds_oxygen=beds_oxygen, beds_icu=beds_icu, oxygen_generators_m3_per_day=oxygen_m3, **(capacity or {})
    )
    rng = None if mode == "deterministic" else np.random.default_rng(seed)
    return Care(CareConfig(**care), oxygen, HealthSystem(cap, oxygen, 100_000, START), rng)


def wave(n_days: int, peak_day: float, total: float, integer: bool) -> np.ndarray:
    """Onsets by day and age: an epidemic-shaped curve, older bands weighted up."""
    t = np.arange(n_days)
    shape = t**3 * np.exp(-3 * t / peak_day)
    shape = shape / shape.sum() * total
    by_age = np.outer(shape, np.linspace(0.5, 2.0, 9) / np.linspace(0.5, 2.0, 9).sum())
    return np.rint(by_age) if integer else by_age


def simulate(care: Care, severe: np.ndarray, critical: np.ndarray, prevalence: np.ndarray | None = None) -> dict:
    days = []
    for day in range(len(severe)):
        p = 0.0 if prevalence is None else prevalence[day]
        days.append(care.step(day, severe[day], critical[day], prevalence=p))
    return {name: np.stack([d[name] for d in days]) for name in CARE_VARIABLES}


# -- oxygen arithmetic ---------------------------------------------------------------------------------


def test_oxygen_arithmetic_is_exact():
    assert m3_per_day(10.0) == 14.4
    assert m3_per_day(30.0) == 43.2
    assert m3_per_day(1.0) == 1.44
    assert cylinder_m3(Oxygen()) == pytest.approx(40 * 150 / 1.01325 / 1000, rel=1e-15)


def test_one_patient_for_one_day_uses_the_configured_flow():
    """A single tier-2 patient for one day: 14.4 m3, and the same in cylinders and tonnes."""
    care = make_care(
        onset_to_admission=Duration(mean_days=0, sd_days=0),
        los_oxygen_survive=Duration(mean_days=1, sd_days=0),
        los_oxygen_die=Duration(mean_days=1, sd_days=0),
    )
    severe = np.zeros(9)
    severe[0] = 1.0
    out = care.step(0, severe, np.zeros(9))
    assert out["census_oxygen"].sum() == 1.0
    assert out["oxygen_used_m3_per_day"] == 14.4
    assert out["oxygen_demand_m3_per_day"] == 14.4
    assert out["oxygen_demand_cylinders_per_day"] == pytest.approx(14.4 / (40 * 150 / 1.01325 / 1000), rel=1e-12)
    assert out["oxygen_demand_liquid_tonnes_per_day"] == pytest.approx(14.4 / 738, rel=1e-12)
    out = care.step(1, np.zeros(9), np.zeros(9))
    assert out["census_oxygen"].sum() == 0
    critical = np.zeros(9)
    critical[3] = 1.0
    care = make_care(onset_to_admission=Duration(mean_days=0, sd_days=0))
    assert care.step(0, np.zeros(9), critical)["oxygen_used_m3_per_day"] == 43.2


def test_observed_flow_alternative_scales_demand():
    low = Oxygen(flow_severe_l_per_min=3.0)
    care = make_care(oxygen=low, onset_to_admission=Duration(mean_days=0, sd_days=0))
    severe = np.full(9, 2.0)
    out = care.step(0, severe, np.zeros(9))
    assert out["oxygen_demand_m3_per_day"] == pytest.approx(18 * 3 * 1.44, rel=1e-12)


# -- kernels -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mean", "sd", "minimum"),
    [(9, 6.364, 1), (4.5, 3.18, 0), (1, 0.7, 1), (14.8, 3, 1), (2.25, 0, 0), (0.3, 0.2, 0)],
)
def test_day_kernel_keeps_the_mean(mean, sd, minimum):
    k = day_kernel(Duration(mean_days=mean, sd_days=sd), minimum=minimum)
    assert k.min() >= 0 and k.sum() == pytest.approx(1, abs=1e-12)
    assert k @ (minimum + np.arange(len(k))) == pytest.approx(max(mean, minimum), rel=1e-6)


def test_day_kernel_spread_matches_the_gamma():
    k = day_kernel(Duration(mean_days=20, sd_days=6), minimum=0)
    days = np.arange(len(k))
    sd = np.sqrt(k @ days**2 - (k @ days) ** 2)
    assert sd == pytest.approx(np.sqrt(36 + 1 / 6), rel=1e-3)  # triangular kernel adds variance 1/6


# -- capacity bounds and balance identities -------------------------------------------------------------


def constrained_run(mode: str, overflow: str, seed: int = 3) -> tuple[Care, dict, np.ndarray, np.ndarray]:
    """A wave that overwhelms the beds, with staff absence rising and falling and a surge step."""
    n = 160
    integer = mode == "stochastic"
    severe, critical = wave(n, 40, 6000, integer), wave(n, 40, 1500, integer)
    prevalence = np.where((np.arange(n) >= 60) & (np.arange(n) < 75), 0.05, 0.0)  # sudden absence, ICU full
    surge = (
        SurgeStep(
            name="field",
            beds_oxygen=80,
            beds_icu=6,
            lead_time_days=10,
            activate_on=START + dt.timedelta(days=30),
        ),
    )
    care = make_care(
        mode,
        beds_oxygen=120,
        beds_icu=15,
        oxygen_m3=3000,
        seed=seed,
        overflow=overflow,
        capacity={"staff_absence_per_prevalence": 6.0, "staff_absence_max": 0.25, "surge": surge},
    )
    return care, simulate(care, severe, critical, prevalence), severe, critical


@pytest.mark.parametrize("overflow", OVERFLOW)
@pytest.mark.parametrize("mode", MODES)
def test_occupancy_is_never_negative_nor_above_capacity(mode, overflow):
    care, r, _, _ = constrained_run(mode, overflow)
    tol = 1e-7
    for name in CARE_VARIABLES:
        assert np.all(r[name] >= -tol), name
    assert np.all(r["census_icu"].sum(1) <= r["icu_staffed_available"] + tol)
    assert np.all(r["census_icu"].sum(1) * 43.2 <= r["oxygen_supply_m3_per_day"] + tol)
    assert np.all(r["census_oxygen"].sum(1) <= r["beds_oxygen_available"] + tol)
    assert np.all(r["oxygen_used_m3_per_day"] <= r["oxygen_supply_m3_per_day"] + tol)
    # The run really is constrained: overflow, displacement by staff absence, and the surge step.
    assert r["unmet_oxygen"].max() > 1 and r["unmet_icu"].max() > 1
    assert r["displaced_icu"].sum() > 0
    assert r["beds_oxygen_available"][39] == 120 and r["beds_oxygen_available"][40] == 200
    if mode == "stochastic":
        for name in ("census_oxygen", "census_icu", "unmet_oxygen", "deaths", "admissions_icu"):
            assert np.array_equal(r[name], np.rint(r[name])), name


@pytest.mark.parametrize("overflow", OVERFLOW)
@pytest.mark.parametrize("mode", MODES)
def test_admissions_minus_discharges_and_deaths_is_the_change_in_census_every_day(mode, overflow):
    _, r, severe, critical = constrained_run(mode, overflow)
    prev = lambda x: np.vstack([np.zeros((1, x.shape[1])), x[:-1]])  # noqa: E731
    atol = 1e-8
    d_ox = r["census_oxygen"] - prev(r["census_oxygen"])
    assert np.allclose(
        d_ox,
        r["admissions_oxygen"]
        + r["stepdowns_icu_to_oxygen"]
        - r["discharges_oxygen"]
        - r["deaths_in_oxygen_bed"]
        - r["displaced_oxygen"],
        atol=atol,
    )
    d_icu = r["census_icu"] - prev(r["census_icu"])
    assert np.allclose(
        d_icu,
        r["admissions_icu"]
        - r["stepdowns_icu_to_oxygen"]
        - r["discharges_icu"]
        - r["deaths_in_icu"]
        - r["displaced_icu"],
        atol=atol,
    )
    d_unmet = (r["unmet_oxygen"] + r["unmet_icu"]) - prev(r["unmet_oxygen"] + r["unmet_icu"])
    admitted_from_queue = (r["admissions_oxygen"] + r["admissions_icu"]) - (
        (severe + critical)
        - r["census_home"]
        + prev(r["census_home"])
        - (r["new_unmet_oxygen"] + r["new_unmet_icu"] - r["displaced_oxygen"] - r["displaced_icu"])
    )
    assert np.allclose(
        d_unmet,
        r["new_unmet_oxygen"]
        + r["new_unmet_icu"]
        - admitted_from_queue
        - r["recoveries_without_care"]
        - r["deaths_without_care"],
        atol=atol,
    )
    if overflow == "lost":
        assert np.allclose(admitted_from_queue, 0, atol=atol)
    # Nobody appears or disappears: onsets = in the pathway now + everyone who has left it.
    inside = r["census_home"] + r["census_oxygen"] + r["census_icu"] + r["unmet_oxygen"] + r["unmet_icu"]
    left = np.cumsum(r["discharges_oxygen"] + r["discharges_icu"] + r["recoveries_without_care"] + r["deaths"], 0)
    assert np.allclose(np.cumsum(severe + critical, 0), inside + left, atol=1e-6)
    assert np.allclose(r["deaths"], r["deaths_in_oxygen_bed"] + r["deaths_in_icu"] + r["deaths_without_care"])
    assert np.allclose(r["needing_oxygen"], r["census_oxygen"] + r["census_icu"] + r["unmet_oxygen"] + r["unmet_icu"])


# -- no limit, no overflow ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_without_capacity_limits_there_is_no_overflow_and_deaths_are_the_treated_baseline(mode):
    n = 400
    integer = mode == "stochastic"
    severe, critical = wave(n, 40, 20000, integer), wave(n, 40, 5000, integer)
    severe[150:] = 0
    critical[150:] = 0
    care = make_care(mode)
    r = simulate(care, severe, critical)
    for name in (
        "unmet_oxygen",
        "unmet_icu",
        "new_unmet_oxygen",
        "new_unmet_icu",
        "deaths_without_care",
        "displaced_oxygen",
        "displaced_icu",
        "oxygen_unmet_m3_per_day",
    ):
        assert r[name].max() == 0, name
    cfg = CareConfig()
    expected = severe.sum(0) @ np.array(cfg.p_death_oxygen_by_age) + critical.sum(0) @ np.array(cfg.p_death_icu_by_age)
    assert r["census_oxygen"][-1].sum() + r["census_icu"][-1].sum() < 1e-6  # everyone has left by then
    if mode == "deterministic":
        assert r["deaths"].sum() == pytest.approx(expected, rel=1e-9)
    else:
        sd = np.sqrt(expected)  # binomial deaths: variance below the mean
        assert abs(r["deaths"].sum() - expected) < 4 * sd


# -- fewer ICU beds never save lives --------------------------------------------------------------------


@pytest.mark.parametrize("overflow", OVERFLOW)
@pytest.mark.parametrize("beds_oxygen", [60.0, UNLIMITED])
def test_halving_icu_beds_never_lowers_deaths(overflow, beds_oxygen):
    n = 200
    severe, critical = wave(n, 40, 8000, False), wave(n, 40, 2000, False)
    deaths = {}
    for beds in (0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256):
        care = make_care(beds_oxygen=beds_oxygen, beds_icu=beds, overflow=overflow)
        deaths[beds] = simulate(care, severe, critical)["deaths"].sum()
    for beds in (1, 2, 4, 8, 16, 32, 64, 128, 256):
        assert deaths[beds / 2] >= deaths[beds] - 1e-9, (beds, deaths)
    assert deaths[0.5] > deaths[256]


# -- Little's law -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_mean_census_is_admission_rate_times_mean_stay(mode):
    """Steady inflow, no limits: census = rate x mean stay, within 2%, for each tier."""
    n, warm = 700, 100
    cfg = CareConfig()
    age = 6
    p_ox, p_icu = cfg.p_death_oxygen_by_age[age], cfg.p_death_icu_by_age[age]
    severe = np.zeros((n, 9))
    severe[:, age] = 200
    critical = np.zeros((n, 9))
    critical[:, age] = 50
    r = simulate(make_care(mode), severe, critical)
    steady = slice(warm, n)
    rate_ox = r["admissions_oxygen"][steady].sum(1).mean()
    rate_icu = r["admissions_icu"][steady].sum(1).mean()
    rate_step = r["stepdowns_icu_to_oxygen"][steady].sum(1).mean()
    stay_ox = p_ox * cfg.los_oxygen_die.mean_days + (1 - p_ox) * cfg.los_oxygen_survive.mean_days
    stay_icu = p_icu * cfg.los_icu_die.mean_days + (1 - p_icu) * cfg.los_icu_survive.mean_days
    expected_ox = rate_ox * stay_ox + rate_step * cfg.los_stepdown.mean_days
    assert r["census_oxygen"][steady].sum(1).mean() == pytest.approx(expected_ox, rel=0.02)
    assert r["census_icu"][steady].sum(1).mean() == pytest.approx(rate_icu * stay_icu, rel=0.02)
    assert rate_ox == pytest.approx(200, rel=0.02) and rate_icu == pytest.approx(50, rel=0.02)
    if mode == "deterministic":  # exact up to the kernel's truncated tail
        assert r["census_oxygen"][-1].sum() == pytest.approx(200 * stay_ox + 50 * (1 - p_icu) * 3.0, rel=1e-6)


# -- oxygen shortage and overflow rules -------------------------------------------------------------------


def test_oxygen_goes_to_icu_first_and_shortage_counts_as_unmet_oxygen():
    supply = 5 * 43.2 + 3 * 14.4
    severe, critical = np.full((80, 9), 2.0), np.full((80, 9), 1.0)
    r = simulate(make_care(beds_icu=5, oxygen_m3=supply), severe, critical)
    assert r["census_icu"][-1].sum() == pytest.approx(5)
    assert r["census_oxygen"][-1].sum() == pytest.approx(3)
    assert r["unmet_oxygen"][-1].sum() > 0
    assert r["oxygen_used_m3_per_day"][-1] == pytest.approx(supply)
    assert r["oxygen_unmet_m3_per_day"][-1] == pytest.approx(r["oxygen_demand_m3_per_day"][-1] - supply)
    # Beds stand empty, but without oxygen none of them can take a patient: nothing counts as free.
    assert r["beds_oxygen_available"][-1] > 1e6
    assert r["beds_covid_free"][-1] == pytest.approx(0.0, abs=1e-9)


def test_queue_admits_waiting_patients_before_new_arrivals():
    severe = np.zeros((60, 9))
    severe[0, 4] = 30  # a burst that overflows 10 beds
    kw = {"beds_oxygen": 10, "onset_to_admission": Duration(mean_days=0, sd_days=0)}
    lost = simulate(make_care(overflow="lost", **kw), severe, np.zeros((60, 9)))
    queue = simulate(make_care(overflow="queue", **kw), severe, np.zeros((60, 9)))
    assert lost["admissions_oxygen"].sum() == pytest.approx(10)
    assert queue["admissions_oxygen"].sum() > 10
    assert queue["deaths_without_care"].sum() < lost["deaths_without_care"].sum()
    assert queue["deaths"].sum() < lost["deaths"].sum()


def test_stochastic_mode_is_reproducible_and_close_to_the_expectation():
    n = 150
    severe, critical = wave(n, 40, 6000, True), wave(n, 40, 1500, True)
    runs = [
        simulate(make_care("stochastic", beds_oxygen=150, beds_icu=20, seed=s), severe, critical) for s in (7, 7, 8)
    ]
    assert np.array_equal(runs[0]["deaths"], runs[1]["deaths"])
    assert not np.array_equal(runs[0]["deaths"], runs[2]["deaths"])
    det = simulate(make_care(beds_oxygen=150, beds_icu=20), severe, critical)
    for name in ("census_oxygen", "census_icu", "deaths"):
        total = det[name].sum()
        assert runs[0][name].sum() == pytest.approx(total, rel=0.05), name


def test_stochastic_mode_rejects_fractional_people():
    with pytest.raises(ValueError, match="whole numbers"):
        make_care("stochastic").step(0, np.full(9, 0.5), np.zeros(9))


def test_a_duration_given_by_its_mean_alone_is_erlang_2():
    cfg = homogeneous(care={"los_icu_survive": {"mean_days": 12}, "overflow": "queue"})
    d = cfg.care.los_icu_survive
    assert d.sd == pytest.approx(12 / np.sqrt(2))
    k = day_kernel(d, minimum=1)
    days = 1 + np.arange(len(k))
    assert k @ days == pytest.approx(12, rel=1e-9)
    assert np.sqrt(k @ days**2 - (k @ days) ** 2) == pytest.approx(np.sqrt(12**2 / 2 + 1 / 6), rel=1e-3)


@pytest.mark.parametrize("per_member", [False, True], ids=["shared kernel", "kernel per member"])
def test_compiled_spread_equals_numpy(monkeypatch, per_member) -> None:
    """The compiled deterministic buffer update gives the numpy one's numbers exactly, across the ring's end."""
    from scenarios import care as care_module

    rng = np.random.default_rng(3)
    people = rng.uniform(0, 50, (3, 9))
    people[1, 4] = 0.0
    kernel = rng.dirichlet(np.ones(7), 3 if per_member else None)
    out = []
    for compiled in (True, False):
        monkeypatch.setattr(care_module, "COMPILED", compiled)
        buf = care_module._Buffer(3, 2, 10, None)
        for day in range(14):  # wraps around the ring
            buf.add(day % 2, people * (day + 1), kernel)
            buf.pop()
        out.append(buf.n.copy())
    assert out[0].sum() > 0
    np.testing.assert_array_equal(out[0], out[1])
