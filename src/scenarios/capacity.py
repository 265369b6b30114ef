"""Capacity of the health system over time: beds by tier, staffed ICU beds, oxygen supply, surge steps.

A :class:`HealthSystem` is built once per run from the ``capacity`` and ``oxygen`` config sections and the
population size (per-100,000 figures become counts; absolute counts win). Each day the care module asks it
for the day's :class:`CapacityDay`. Surge steps (field hospitals, ICU centres, extra oxygen) come online
``lead_time_days`` after they are activated: by date from the config, or by :meth:`HealthSystem.activate`
from a triggered policy.

Oxygen arithmetic (gas volumes at about 1 atm)
----------------------------------------------
- A flow of 1 L/min for a day is 1 x 60 x 24 / 1000 = 1.44 m3, so 10 L/min is 14.4 m3/day.
- A cylinder of water volume ``V`` L filled to ``P`` bar holds ``V x P / 1.01325 / 1000`` m3 as an ideal
  gas (40 L at 150 bar: 5.92 m3). With ``cylinder_gas = "real"`` the content is scaled by the real-gas
  factor at 15 C from CoolProp (docs/sources.md s.3: 6.4 m3 for 40 L/150 bar, 8.5 m3 for 40 L/200 bar),
  interpolated linearly in pressure between 0, 150 and 200 bar.
- One tonne of liquid oxygen gives ``liquid_m3_per_tonne`` m3 (738 at 15 C).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from .config.health import Capacity, Oxygen, SurgeStep

__all__ = [
    "M3_PER_DAY_PER_L_PER_MIN",
    "CapacityDay",
    "Capacities",
    "HealthSystem",
    "build_health_system",
    "cylinder_m3",
    "m3_per_day",
]

M3_PER_DAY_PER_L_PER_MIN = 60 * 24 / 1000  # 1.44
ATM_BAR = 1.01325
# Real-gas content / ideal-gas content of an oxygen cylinder at 15 C, by filling pressure (bar):
# CoolProp figures of docs/sources.md s.3 (6.4 m3 real vs 5.92 ideal at 150 bar; 8.5 vs 7.90 at 200 bar).
_REAL_GAS_BAR = (0.0, 150.0, 200.0)
_REAL_GAS_FACTOR = (1.0, 6.4 / (40 * 150 / ATM_BAR / 1000), 8.5 / (40 * 200 / ATM_BAR / 1000))


def m3_per_day(flow_l_per_min: float) -> float:
    """Gas volume (m3) used in one day at a flow of ``flow_l_per_min``.

    Examples
    --------
    >>> round(m3_per_day(10.0), 10)
    14.4
    """
    return flow_l_per_min * 60 * 24 / 1000


def cylinder_m3(oxygen: Oxygen) -> float:
    """Gas (m3 at about 1 atm) in one full cylinder of the configured size and pressure.

    Examples
    --------
    >>> from scenarios.config.health import Oxygen
    >>> round(cylinder_m3(Oxygen()), 3)
    5.922
    >>> round(cylinder_m3(Oxygen(cylinder_gas="real")), 2)
    6.4
    """
    ideal = oxygen.cylinder_water_litres * oxygen.cylinder_pressure_bar / ATM_BAR / 1000
    if oxygen.cylinder_gas == "ideal":
        return ideal
    return ideal * float(np.interp(oxygen.cylinder_pressure_bar, _REAL_GAS_BAR, _REAL_GAS_FACTOR))


@dataclass(frozen=True)
class CapacityDay:
    """Capacity for COVID-19 patients on one day (counts may be fractional in per-100,000 defaults).

    Attributes
    ----------
    beds_oxygen : float
        Oxygen-capable tier-2 beds available to COVID-19 patients (non-COVID occupancy removed).
    beds_icu : float
        ICU beds available to COVID-19 patients (non-COVID occupancy removed), staffed or not.
    icu_staffed : float
        ICU beds that also have their staff on the day (``icu_staffed_share`` and absence applied).
    oxygen_supply_m3_per_day : float
        Oxygen supply from all sources, m3 of gas per day.
    staff_absence : float
        Share of ICU staff absent on the day.
    """

    beds_oxygen: float
    beds_icu: float
    icu_staffed: float
    oxygen_supply_m3_per_day: float
    staff_absence: float


def _count(absolute: float | None, per_100k: float, population: float) -> float:
    return float(absolute) if absolute is not None else per_100k * population / 1e5


class HealthSystem:
    """Beds, ICU and oxygen supply of an area over time, with surge steps that open after a lead time.

    Parameters
    ----------
    capacity : Capacity
        The ``capacity`` config section.
    oxygen : Oxygen
        The ``oxygen`` config section (cylinder size for deliveries counted in cylinders).
    population : float
        People in the area, for per-100,000 figures.
    start_date : date
        Date of day 0, for surge steps activated by date.

    Examples
    --------
    >>> import datetime as dt
    >>> from scenarios.config.health import Capacity, Oxygen, SurgeStep
    >>> cap = Capacity(beds_oxygen=100, beds_icu=10, surge=(SurgeStep(name="field", beds_oxygen=50,
    ...                lead_time_days=7),))
    >>> hs = HealthSystem(cap, Oxygen(), 100_000, dt.date(2027, 1, 1))
    >>> hs.activate("field", day=3)
    True
    >>> hs.on(9).beds_oxygen, hs.on(10).beds_oxygen
    (100.0, 150.0)
    """

    def __init__(self, capacity: Capacity, oxygen: Oxygen, population: float, start_date: dt.date):
        self.config = capacity
        self.population = float(population)
        c, n = capacity, self.population
        self._beds_oxygen = _count(c.beds_oxygen, c.beds_oxygen_per_100k, n)
        self._beds_icu = _count(c.beds_icu, c.beds_icu_per_100k, n)
        sources = (c.oxygen_liquid_tonnes_per_day, c.oxygen_cylinders_per_day, c.oxygen_generators_m3_per_day)
        if all(s is None for s in sources):
            self._oxygen = c.oxygen_supply_m3_per_day_per_100k * n / 1e5
        else:
            self._oxygen = (
                (c.oxygen_liquid_tonnes_per_day or 0.0) * oxygen.liquid_m3_per_tonne
                + (c.oxygen_cylinders_per_day or 0.0) * cylinder_m3(oxygen)
                + (c.oxygen_generators_m3_per_day or 0.0)
            )
        self._steps: dict[str, SurgeStep] = {s.name: s for s in c.surge}
        self._activated: dict[str, int] = {}
        for s in c.surge:
            if s.activate_on is not None:
                self._activated[s.name] = (s.activate_on - start_date).days

    @property
    def surge_steps(self) -> tuple[str, ...]:
        """Names of the configured surge steps."""
        return tuple(self._steps)

    def activate(self, step_name: str, day: int) -> bool:
        """Activate surge step ``step_name`` on ``day``; it is in service from ``day + lead_time_days``.

        Returns ``True`` if this call activated it, ``False`` if it was already activated (the first
        activation counts). Raises ``KeyError`` for an unknown name.
        """
        if step_name not in self._steps:
            raise KeyError(f"unknown surge step {step_name!r}; configured: {', '.join(self._steps) or 'none'}")
        if step_name in self._activated and self._activated[step_name] <= day:
            return False
        self._activated[step_name] = day
        return True

    def activated_on(self, step_name: str) -> int | None:
        """Day a step was activated, or ``None``."""
        return self._activated.get(step_name)

    def in_service(self, day: int) -> list[str]:
        """Names of the surge steps in service on ``day``."""
        return [name for name, start in self._activated.items() if start + self._steps[name].lead_time_days <= day]

    def on(self, day: int, prevalence: float = 0.0) -> CapacityDay:
        """Capacity on ``day`` given community ``prevalence`` (infectious people / population)."""
        c, n = self.config, self.population
        beds_oxygen, beds_icu, oxygen = self._beds_oxygen, self._beds_icu, self._oxygen
        for name in self.in_service(day):
            s = self._steps[name]
            beds_oxygen += _count(s.beds_oxygen, s.beds_oxygen_per_100k, n)
            beds_icu += _count(s.beds_icu, s.beds_icu_per_100k, n)
            oxygen += s.oxygen_m3_per_day
        usable = _usable(beds_oxygen, beds_icu, oxygen, prevalence, *_shares(c))
        return CapacityDay(**{name: float(v) for name, v in usable.items()})


def _shares(c: Capacity) -> tuple[float, float, float, float, float]:
    """Return what :func:`_usable` takes from the config: beds kept for COVID-19, staffed share, absence."""
    return (
        1 - c.non_covid_share_oxygen,
        1 - c.non_covid_share_icu,
        c.icu_staffed_share,
        c.staff_absence_max,
        c.staff_absence_per_prevalence,
    )


def _usable(beds_oxygen, beds_icu, oxygen, prevalence, keep_oxygen, keep_icu, staffed, absence_max, absence_slope):
    """Return capacity net of beds held by other patients and of staff absence (the fields of :class:`CapacityDay`).

    Scalars for one health system, or arrays by member for many (:class:`Capacities`): one arithmetic for both.
    """
    beds_icu = beds_icu * keep_icu
    absence = np.minimum(absence_max, absence_slope * np.maximum(prevalence, 0.0))
    return {
        "beds_oxygen": beds_oxygen * keep_oxygen,
        "beds_icu": beds_icu,
        "icu_staffed": beds_icu * staffed * (1 - absence),
        "oxygen_supply_m3_per_day": oxygen,
        "staff_absence": absence,
    }


class Capacities:
    """:meth:`HealthSystem.on` of many health systems (members of a batch) at once, as arrays by member.

    Surge steps in service are added member by member, in each member's order; then every member goes
    through the same function (``_usable``) at once, so the numbers are those of ``on``.

    Examples
    --------
    >>> import datetime as dt
    >>> from scenarios.config.health import Capacity, Oxygen
    >>> hs = [HealthSystem(Capacity(beds_oxygen=b, beds_icu=10), Oxygen(), 1e5, dt.date(2027, 1, 1)) for b in (50, 80)]
    >>> Capacities(hs).on(0, np.array([0.0, 0.01]))["beds_oxygen"].tolist() == [h.on(0).beds_oxygen for h in hs]
    True
    """

    def __init__(self, systems: list[HealthSystem]):
        self.systems = systems
        col = lambda f: np.array([f(h) for h in systems], dtype=float)  # noqa: E731
        self._beds_oxygen = col(lambda h: h._beds_oxygen)
        self._beds_icu = col(lambda h: h._beds_icu)
        self._oxygen = col(lambda h: h._oxygen)
        self._shares = np.array([_shares(h.config) for h in systems], dtype=float).T

    def on(self, day: int, prevalence: np.ndarray) -> dict[str, np.ndarray]:
        """Return the fields of :class:`CapacityDay` on ``day``, each an array by member."""
        beds_oxygen, beds_icu, oxygen = self._beds_oxygen.copy(), self._beds_icu.copy(), self._oxygen.copy()
        for m, h in enumerate(self.systems):
            if h._activated:  # surge steps in service add to the member's beds, in its own order (as ``on``)
                for name in h.in_service(day):
                    s = h._steps[name]
                    beds_oxygen[m] += _count(s.beds_oxygen, s.beds_oxygen_per_100k, h.population)
                    beds_icu[m] += _count(s.beds_icu, s.beds_icu_per_100k, h.population)
                    oxygen[m] += s.oxygen_m3_per_day
        return _usable(beds_oxygen, beds_icu, oxygen, prevalence, *self._shares)


def build_health_system(config, population_total: float) -> HealthSystem:
    """Build the :class:`HealthSystem` of a whole :class:`~scenarios.config.Config`."""
    return HealthSystem(config.capacity, config.oxygen, population_total, config.scenario.start_date)
