"""Three-tier care (tháp 3 tầng): admissions, occupancy, overflow, deaths and oxygen, for both engines.

The daily loop gives :meth:`Care.step` the day's onsets of severe (tier 2, oxygen) and critical (tier 3,
ICU) illness by age, already split by :func:`scenarios.disease.split_severity` (variant severity multiplier
and vaccine protection against severe disease act there). Everything after onset happens here.

One implementation, two modes
-----------------------------
Every delay and stay is a gamma distribution discretised to whole days with its mean kept exactly
(:func:`day_kernel`). People are held in *cohort buffers*: counts by kind (outcome), age and days until
their next event. A patient entering a buffer has the day of their event drawn from the kernel: the
deterministic mode (``rng=None``, the compartmental engine) adds the expected counts ``n x kernel``; the
stochastic mode (agent-based engine) draws ``multinomial(n, kernel)``. Outcomes are ``n x p`` or
``binomial(n, p)``; choosing *who* gets a free bed, or loses one, is proportional or a multivariate
hypergeometric draw. Both modes run the same code, so the balance identities hold exactly in both, and
mean census = admission rate x mean stay (Little's law) holds because a patient admitted on day ``t`` with
stay ``L`` days is in the end-of-day census on days ``t ... t+L-1`` and leaves on day ``t+L``.

Pathway
-------
1. Onset -> seeking admission after ``onset_to_admission`` (the patient is in tier 1 meanwhile).
2. Critical patients ask for a staffed ICU bed, severe ones for an oxygen bed. Outcome (death or recovery)
   is drawn on admission with the fatality *with* care; the stay depends on the outcome. ICU survivors step
   down to a tier-2 bed for ``los_stepdown`` (before any new admission; if none is free they go home).
3. Overflow: a patient who finds no place starts an untreated course with the fatality *without* care
   (squire's "get / not get" structure). With ``overflow = "lost"`` (default, squire) they stay without care;
   with ``"queue"`` they wait and are admitted, before new arrivals, when a place frees up, unless the
   untreated course ends first. Critical patients without ICU are not given tier-2 beds (as squire).
   Fates are coupled (one frailty per patient, see :meth:`Care._treat`): a waiting patient who would have
   survived untreated survives when admitted, so earlier or more care never adds a death.
4. Capacity that falls (staff absence, oxygen) displaces patients at random into the untreated course
   (step-down patients are discharged instead), so census never exceeds capacity.

Oxygen
------
ICU patients use ``flow_critical``, tier-2 patients (step-down included) ``flow_severe``. ICU is served
first: the day's supply limits ICU places to ``supply / ICU use`` and tier-2 places to what is left over
divided by the tier-2 use. A patient who could have a bed but no oxygen is therefore not admitted and
counts in ``unmet_oxygen``. Demand counts everyone who needs oxygen (in a bed or not): it is what the
area would need; ``oxygen_unmet_m3_per_day = max(0, demand - supply)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._numba import COMPILED, njit
from .capacity import Capacities, HealthSystem, build_health_system, cylinder_m3, m3_per_day
from .config import N_AGE, Config
from .config.health import Care as CareConfig
from .config.health import Duration, Oxygen
from .disease import day_kernel

__all__ = ["CARE_VARIABLES", "Care", "build_care", "day_kernel"]

# Names Care.step returns (each declared in results.VARIABLES).
CARE_VARIABLES: tuple[str, ...] = (
    "census_home",
    "census_oxygen",
    "census_icu",
    "unmet_oxygen",
    "unmet_icu",
    "needing_oxygen",
    "admissions_oxygen",
    "admissions_icu",
    "stepdowns_icu_to_oxygen",
    "discharges_oxygen",
    "discharges_icu",
    "deaths_in_oxygen_bed",
    "deaths_in_icu",
    "displaced_oxygen",
    "displaced_icu",
    "new_unmet_oxygen",
    "new_unmet_icu",
    "recoveries_without_care",
    "deaths",
    "deaths_without_care",
    "oxygen_demand_m3_per_day",
    "oxygen_used_m3_per_day",
    "oxygen_supply_m3_per_day",
    "oxygen_unmet_m3_per_day",
    "oxygen_demand_cylinders_per_day",
    "oxygen_demand_liquid_tonnes_per_day",
    "beds_oxygen_available",
    "beds_icu_available",
    "icu_staffed_available",
    "beds_covid_free",
    "icu_staffed_free",
    "staff_absence",
)


class _Buffer:
    """People waiting for their next event, by member, kind, age band and days until the event.

    A ring over days: slot ``(pos + k) % n_days`` holds the events due in ``k`` days, so a new day moves a
    pointer instead of every count.
    """

    def __init__(self, n_member: int, n_kind: int, n_days: int, rng: np.random.Generator | None):
        self.rng = rng
        self.n = np.zeros((n_member, n_kind, N_AGE, n_days), dtype=float if rng is None else np.int64)
        # People by member, kind and age (n summed over days), kept as they come and go: exact balances,
        # and no sum over the whole ring each time a total is asked for.
        self.stock = np.zeros(self.n.shape[:-1], dtype=self.n.dtype)
        self.pos = 0

    def add(self, kind: int, people: np.ndarray, kernel: np.ndarray) -> None:
        """Schedule ``people`` (member, age) to their event ``k`` days from now with probability ``kernel[.., k]``.

        ``kernel`` is (n_member, n) or (n,).
        """
        if not people.any():
            return
        self.stock[:, kind] += people  # kernels are distributions: everyone scheduled is in the stock
        if self.rng is None and COMPILED:  # the same sums, without the (member, age, day) temporary
            _spread(self.n, kind, people, kernel if kernel.ndim == 2 else kernel[None], self.pos)
            return
        if self.rng is None:
            sched = people[:, :, None] * (kernel[:, None, :] if kernel.ndim == 2 else kernel)
        else:
            sched = self.rng.multinomial(people, kernel[0] if kernel.ndim == 2 else kernel)
        size, length = self.n.shape[-1], sched.shape[-1]
        first = min(length, size - self.pos)
        self.n[:, kind, :, self.pos : self.pos + first] += sched[..., :first]
        if first < length:
            self.n[:, kind, :, : length - first] += sched[..., first:]

    def pop(self) -> np.ndarray:
        """Remove and return the people whose event is today, shape (n_member, n_kind, n_age); move a day on."""
        due = self.n[..., self.pos].copy()
        self.n[..., self.pos] = 0
        self.stock -= due
        self.pos = (self.pos + 1) % self.n.shape[-1]
        return due

    def total(self) -> np.ndarray:
        """People by member and age."""
        return self.stock.sum(axis=1)

    def take(self, how_many: np.ndarray) -> np.ndarray:
        """Remove ``how_many`` (by member) people chosen at random (proportionally); return them by kind and age."""
        how_many = np.asarray(how_many, dtype=float)
        total = self.stock.sum(axis=(1, 2))
        out = np.zeros_like(self.stock)
        picked = np.flatnonzero((total > 0) & (how_many > 0))  # usually few members: touch only theirs
        if picked.size:
            taken = _choose(self.n[picked], how_many[picked], self.rng, total=total[picked])
            self.n[picked] -= taken
            out[picked] = taken.sum(axis=-1)
            self.stock[picked] -= out[picked]
        return out


@njit(cache=True)
def _spread(n: np.ndarray, kind: int, people: np.ndarray, kernel: np.ndarray, pos: int) -> None:
    """``n[m, kind, a, (pos + j) % days] += people[m, a] * kernel[m, j]`` (one kernel row for all when it has one).

    What :meth:`_Buffer.add` does with numpy in the deterministic mode, element for element, in one pass.
    """
    size, length = n.shape[-1], kernel.shape[-1]
    first = min(length, size - pos)
    # Unsigned day indices: numba adds a negative-index branch to signed ones it cannot prove >= 0 (which
    # keeps the loop from vectorising), and no views per row (each costs more than a short pass).
    start = np.uint64(pos)
    for m in range(people.shape[0]):
        km = m if kernel.shape[0] > 1 else 0
        for a in range(people.shape[1]):
            p = people[m, a]
            if p == 0:
                continue
            for j in range(first):
                n[m, kind, a, start + np.uint64(j)] += p * kernel[km, j]
            for j in range(first, length):
                n[m, kind, a, np.uint64(j - first)] += p * kernel[km, j]


def _choose(
    counts: np.ndarray, how_many: np.ndarray, rng: np.random.Generator | None, total: np.ndarray | None = None
) -> np.ndarray:
    """Pick ``min(how_many[m], total[m])`` of each member's ``counts[m]``: expected share, or hypergeometric.

    ``total`` (by member) may be given when known, to save summing ``counts``.
    """
    how_many = np.asarray(how_many, dtype=float)
    if total is None:
        total = counts.reshape(counts.shape[0], -1).sum(axis=1)
    picked = (total > 0) & (how_many > 0)
    out = np.zeros_like(counts)
    if not picked.any():
        return out
    if rng is None:
        frac = np.divide(how_many, total, out=np.ones_like(total), where=how_many < total)
        out[picked] = counts[picked] * frac[picked].reshape((-1,) + (1,) * (counts.ndim - 1))
        return out
    for m in np.flatnonzero(picked):
        k = int(min(how_many[m], total[m]))
        out[m] = rng.multivariate_hypergeometric(counts[m].ravel(), k).reshape(counts[m].shape)
    return out


@dataclass(frozen=True)
class _Kernels:
    delay: np.ndarray
    home: np.ndarray
    ox_live: np.ndarray
    ox_die: np.ndarray
    icu_live: np.ndarray
    icu_die: np.ndarray
    stepdown: np.ndarray
    un_ox_live: np.ndarray
    un_ox_die: np.ndarray
    un_icu_live: np.ndarray
    un_icu_die: np.ndarray

    @classmethod
    def build(cls, c: CareConfig) -> _Kernels:
        stay = lambda d: day_kernel(d, minimum=1)  # noqa: E731
        return cls(
            delay=day_kernel(c.onset_to_admission, minimum=0),
            home=stay(Duration(mean_days=max(c.home_care_days, 1.0), sd_days=0)),
            ox_live=stay(c.los_oxygen_survive),
            ox_die=stay(c.los_oxygen_die),
            icu_live=stay(c.los_icu_survive),
            icu_die=stay(c.los_icu_die),
            stepdown=stay(c.los_stepdown),
            un_ox_live=stay(c.untreated_oxygen_survive),
            un_ox_die=stay(c.untreated_oxygen_die),
            un_icu_live=stay(c.untreated_icu_survive),
            un_icu_die=stay(c.untreated_icu_die),
        )

    def longest(self) -> int:
        return max(len(k) for k in vars(self).values())

    @classmethod
    def stack(cls, each: Sequence[_Kernels]) -> _Kernels:
        """One kernel array per field, shape (n_member, n): members' kernels padded with zero weights."""
        out = {}
        for name in vars(each[0]):
            ks = [getattr(k, name) for k in each]
            arr = np.zeros((len(ks), max(len(k) for k in ks)))
            for m, k in enumerate(ks):
                arr[m, : len(k)] = k
            out[name] = arr
        return cls(**out)


LIVE, DIE, STEPDOWN = 0, 1, 2  # kinds in the bed and untreated buffers
OXYGEN, ICU = 0, 1  # kinds in the pre-admission buffer


class Care:
    """The three-tier care pathway of one run; call :meth:`step` once per day.

    Parameters
    ----------
    care : Care (config section)
        Pathway: delays, stays, fatality with and without care, overflow rule.
    oxygen : Oxygen (config section)
        Flows per patient and unit conversions.
    capacity : HealthSystem
        Beds, ICU and oxygen supply over time; ``care.capacity.activate(step, day)`` opens a surge step.
    rng : Generator, optional
        ``None``: expected values (compartmental engine). A generator: integer people and random draws
        (agent-based engine); then onsets must be whole numbers.

    Notes
    -----
    :meth:`ensemble` builds the deterministic care of many runs (members) advanced together: every array
    then has a leading member axis. A single run is an ensemble of one whose member axis is dropped from
    what :meth:`step` takes and returns, so both run the same code.

    Examples
    --------
    >>> import datetime as dt
    >>> from scenarios.config.health import Capacity, Care as CareConfig, Oxygen
    >>> from scenarios.capacity import HealthSystem
    >>> hs = HealthSystem(Capacity(beds_oxygen=10, beds_icu=2), Oxygen(), 1e5, dt.date(2027, 1, 1))
    >>> care = Care(CareConfig(), Oxygen(), hs)
    >>> severe = np.zeros(9); severe[6] = 20.0
    >>> out = [care.step(day, severe, np.zeros(9)) for day in range(60)]
    >>> round(float(out[-1]["census_oxygen"].sum()), 6)  # every bed full
    10.0
    """

    def __init__(
        self, care: CareConfig, oxygen: Oxygen, capacity: HealthSystem, rng: np.random.Generator | None = None
    ):
        self._setup([care], [oxygen], [capacity], rng)
        self._single = True

    @classmethod
    def ensemble(
        cls, cares: Sequence[CareConfig], oxygens: Sequence[Oxygen], capacities: Sequence[HealthSystem]
    ) -> Care:
        """Deterministic care of ``len(cares)`` members; :meth:`step` takes and returns a leading member axis."""
        self = cls.__new__(cls)
        self._setup(list(cares), list(oxygens), list(capacities), None)
        self._single = False
        return self

    def _setup(
        self,
        cares: list[CareConfig],
        oxygens: list[Oxygen],
        capacities: list[HealthSystem],
        rng: np.random.Generator | None,
    ) -> None:
        self.config, self.oxygen, self.capacity, self.rng = cares[0], oxygens[0], capacities[0], rng
        self.capacities = capacities
        self._by_member = Capacities(capacities)
        built: dict[CareConfig, _Kernels] = {}  # members that share a care section share its kernels
        each = [built.setdefault(c, _Kernels.build(c)) if c not in built else built[c] for c in cares]
        self.kernels = each[0] if len(built) == 1 else _Kernels.stack(each)
        m = len(cares)
        n = max(e.longest() for e in each) + 1
        self.pre = _Buffer(m, 2, n, rng)  # seeking admission: OXYGEN / ICU need
        self.home = _Buffer(m, 1, n, rng)  # mild cases in home care
        self.ward = _Buffer(m, 3, n, rng)  # tier-2 beds: LIVE, DIE, STEPDOWN (after ICU)
        self.icu = _Buffer(m, 2, n, rng)  # staffed ICU beds: LIVE (then step-down), DIE
        self.un_ox = _Buffer(m, 2, n, rng)  # needing oxygen without it: LIVE, DIE
        self.un_icu = _Buffer(m, 2, n, rng)  # critical without ICU: LIVE, DIE
        self.p_die_ox = np.array([c.p_death_oxygen_by_age for c in cares], dtype=float)
        self.p_die_icu = np.array([c.p_death_icu_by_age for c in cares], dtype=float)
        self.p_die_un_ox = np.maximum(np.array([[c.p_death_oxygen_untreated] for c in cares]), self.p_die_ox)
        self.p_die_un_icu = np.maximum(np.array([[c.p_death_icu_untreated] for c in cares]), self.p_die_icu)
        self.use_ox = np.array([m3_per_day(o.flow_severe_l_per_min) for o in oxygens])
        self.use_icu = np.array([m3_per_day(o.flow_critical_l_per_min) for o in oxygens])
        self.queue = np.array([c.overflow == "queue" for c in cares])
        self.cylinder_m3 = np.array([cylinder_m3(o) for o in oxygens])
        self.liquid_m3_per_tonne = np.array([o.liquid_m3_per_tonne for o in oxygens])

    # -- helpers -------------------------------------------------------------------------------------
    def _people(self, x: np.ndarray | None) -> np.ndarray:
        if x is None:
            x = np.zeros((self.p_die_ox.shape[0], N_AGE))
        x = np.asarray(x, dtype=float)
        if x.ndim == 1:  # a single run
            x = x[None]
        if self.rng is None:
            return x
        r = np.rint(x)
        if np.any(np.abs(x - r) > 1e-9):
            raise ValueError("the stochastic care mode needs whole numbers of people")
        return r.astype(np.int64)

    def _deaths(self, n: np.ndarray, p: np.ndarray) -> np.ndarray:
        return n * p if self.rng is None else self.rng.binomial(n, p)

    def _places(self, x: np.ndarray) -> np.ndarray:
        """Places usable on the day: whole beds in the stochastic mode."""
        x = np.maximum(x, 0.0)
        return x if self.rng is None else np.floor(x + 1e-9)

    def _enter(
        self,
        buf: _Buffer,
        people: np.ndarray,
        p_die: np.ndarray,
        live: np.ndarray,
        die: np.ndarray,
        known_dead: np.ndarray | None = None,
    ) -> None:
        """Draw who of ``people`` dies (probability ``p_die``), add ``known_dead``, schedule both."""
        dead = self._deaths(people, p_die)
        if known_dead is not None:
            dead = dead + known_dead
            people = people + known_dead
        buf.add(LIVE, people - dead, live)
        buf.add(DIE, dead, die)

    def _fill(
        self, free: np.ndarray, queue: _Buffer, arrivals: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Give ``free`` places: waiting patients first (members in queue mode), then today's arrivals.

        Returns the waiting patients admitted, by member, kind (LIVE, DIE: their untreated fate) and age; the
        arrivals admitted, by member and age; and the arrivals not admitted.
        """
        waiting = np.zeros((arrivals.shape[0], 2, N_AGE), dtype=arrivals.dtype)
        asks = self.queue & (free > 0)
        if asks.any():
            waiting = queue.take(np.where(asks, free, 0.0))
            free = free - waiting.sum(axis=(1, 2))
        admitted = _choose(arrivals, free, self.rng)
        return waiting, admitted, arrivals - admitted

    def _treat(
        self,
        buf: _Buffer,
        waiting: np.ndarray,
        new: np.ndarray,
        p_t: np.ndarray,
        p_un: np.ndarray,
        live: np.ndarray,
        die: np.ndarray,
    ) -> None:
        """Admit new arrivals (fatality with care) and waiting patients, coupled to their untreated fate.

        Coupling: each patient has one frailty ``U ~ Uniform(0, 1)`` and dies with care if ``U < p_t``,
        without if ``U < p_un`` (``p_t <= p_un``). So a waiting patient who would have survived untreated
        survives with care, and one who would have died dies with care with probability ``p_t / p_un``:
        care, or earlier care, never adds a death.
        """
        ratio = np.divide(p_t, p_un, out=np.zeros_like(p_t), where=p_un > 0)
        self._enter(buf, new, p_t, live, die)
        dead = self._deaths(waiting[:, DIE], ratio)
        buf.add(LIVE, waiting[:, LIVE] + waiting[:, DIE] - dead, live)
        buf.add(DIE, dead, die)

    def _untreat(
        self,
        buf: _Buffer,
        new: np.ndarray,
        displaced: np.ndarray,
        p_t: np.ndarray,
        p_un: np.ndarray,
        live: np.ndarray,
        die: np.ndarray,
    ) -> None:
        """Start untreated courses: new arrivals without a place, and patients displaced from a bed.

        With the coupling of :meth:`_treat`, a displaced patient who would have died with care dies, and
        one who would have survived dies with probability ``(p_un - p_t) / (1 - p_t)``.
        """
        extra = np.divide(p_un - p_t, 1 - p_t, out=np.ones_like(p_t), where=p_t < 1)
        self._enter(buf, new, p_un, live, die)
        self._enter(buf, displaced[:, LIVE], extra, live, die, known_dead=displaced[:, DIE])

    def _capacity(self, day: int, prevalence: np.ndarray) -> dict[str, np.ndarray]:
        return self._by_member.on(day, np.asarray(prevalence, dtype=float))

    # -- the day -------------------------------------------------------------------------------------
    def step(
        self,
        day: int,
        severe: np.ndarray,
        critical: np.ndarray,
        mild: np.ndarray | None = None,
        prevalence: float | np.ndarray = 0.0,
    ) -> dict[str, np.ndarray]:
        """Advance care by one day.

        Parameters
        ----------
        day : int
            Days since the start (for capacity and surge steps).
        severe, critical : ndarray, shape (n_age,)
            Today's onsets needing oxygen (tier 2) / ICU (tier 3); (n_member, n_age) for an ensemble.
        mild : ndarray, shape (n_age,), optional
            Today's mild onsets, for the tier-1 home-care census.
        prevalence : float
            Community prevalence (infectious / population), for staff absence; (n_member,) for an ensemble.

        Returns
        -------
        dict of str to ndarray
            The variables of :data:`CARE_VARIABLES`: shape (n_age,) for people, scalars for capacity and
            oxygen (with a leading member axis for an ensemble). Stocks are at the end of the day, flows over
            the day (see ``results.VARIABLES``).
        """
        k, rng = self.kernels, self.rng
        cap = self._capacity(day, np.broadcast_to(prevalence, (self.p_die_ox.shape[0],)))

        # Tier 1: mild cases at home; severe/critical until they seek admission (same-day allowed).
        self.home.pop()
        self.home.add(0, self._people(mild), k.home)
        self.pre.add(OXYGEN, self._people(severe), k.delay)
        self.pre.add(ICU, self._people(critical), k.delay)
        arrivals = self.pre.pop()

        # Events due today.
        ward_due, icu_due = self.ward.pop(), self.icu.pop()
        un_ox_due, un_icu_due = self.un_ox.pop(), self.un_icu.pop()
        discharges_ox = ward_due[:, LIVE] + ward_due[:, STEPDOWN]
        deaths_ox, deaths_icu = ward_due[:, DIE], icu_due[:, DIE]
        survivors_icu = icu_due[:, LIVE]

        # ICU (served first with oxygen): places = staffed beds, limited by oxygen.
        supply = cap["oxygen_supply_m3_per_day"]
        by_oxygen = np.divide(supply, self.use_icu, out=np.full_like(supply, np.inf), where=self.use_icu != 0)
        icu_places = self._places(np.minimum(cap["icu_staffed"], by_oxygen))
        out_icu = self.icu.take(self.icu.total().sum(axis=1) - icu_places)
        waiting, new, no_icu = self._fill(icu_places - self.icu.total().sum(axis=1), self.un_icu, arrivals[:, ICU])
        self._treat(self.icu, waiting, new, self.p_die_icu, self.p_die_un_icu, k.icu_live, k.icu_die)
        self._untreat(self.un_icu, no_icu, out_icu, self.p_die_icu, self.p_die_un_icu, k.un_icu_live, k.un_icu_die)
        new_icu, displaced_icu = new + waiting.sum(axis=1), out_icu.sum(axis=1)
        new_unmet_icu = no_icu + displaced_icu

        # Tier 2: oxygen beds, limited by the oxygen left after ICU; step-downs from ICU come first.
        left = np.maximum(supply - self.icu.total().sum(axis=1) * self.use_icu, 0.0)
        by_oxygen = np.divide(left, self.use_ox, out=np.full_like(left, np.inf), where=self.use_ox != 0)
        ward_places = self._places(np.minimum(cap["beds_oxygen"], by_oxygen))
        out = self.ward.take(self.ward.total().sum(axis=1) - ward_places)
        discharges_ox = discharges_ox + out[:, STEPDOWN]  # displaced step-down patients go home
        stepdowns = _choose(survivors_icu, ward_places - self.ward.total().sum(axis=1), rng)
        self.ward.add(STEPDOWN, stepdowns, k.stepdown)
        discharges_icu = survivors_icu - stepdowns
        waiting, new, no_ox = self._fill(ward_places - self.ward.total().sum(axis=1), self.un_ox, arrivals[:, OXYGEN])
        self._treat(self.ward, waiting, new, self.p_die_ox, self.p_die_un_ox, k.ox_live, k.ox_die)
        self._untreat(self.un_ox, no_ox, out[:, :2], self.p_die_ox, self.p_die_un_ox, k.un_ox_live, k.un_ox_die)
        new_ox, displaced_ox = new + waiting.sum(axis=1), out[:, LIVE] + out[:, DIE]
        new_unmet_ox = no_ox + displaced_ox

        # Stocks at the end of the day, and oxygen.
        census_ox, census_icu = self.ward.total(), self.icu.total()
        unmet_ox, unmet_icu = self.un_ox.total(), self.un_icu.total()
        n_ox, n_icu = census_ox.sum(axis=1), census_icu.sum(axis=1)
        used = n_ox * self.use_ox + n_icu * self.use_icu
        demand = (n_ox + unmet_ox.sum(axis=1)) * self.use_ox + (n_icu + unmet_icu.sum(axis=1)) * self.use_icu
        deaths_without = un_ox_due[:, DIE] + un_icu_due[:, DIE]
        out = {
            "census_home": self.home.total() + self.pre.total(),
            "census_oxygen": census_ox,
            "census_icu": census_icu,
            "unmet_oxygen": unmet_ox,
            "unmet_icu": unmet_icu,
            "needing_oxygen": census_ox + census_icu + unmet_ox + unmet_icu,
            "admissions_oxygen": new_ox,
            "admissions_icu": new_icu,
            "stepdowns_icu_to_oxygen": stepdowns,
            "discharges_oxygen": discharges_ox,
            "discharges_icu": discharges_icu,
            "deaths_in_oxygen_bed": deaths_ox,
            "deaths_in_icu": deaths_icu,
            "displaced_oxygen": displaced_ox,
            "displaced_icu": displaced_icu,
            "new_unmet_oxygen": new_unmet_ox,
            "new_unmet_icu": new_unmet_icu,
            "recoveries_without_care": un_ox_due[:, LIVE] + un_icu_due[:, LIVE],
            "deaths": deaths_ox + deaths_icu + deaths_without,
            "deaths_without_care": deaths_without,
            "oxygen_demand_m3_per_day": demand,
            "oxygen_used_m3_per_day": used,
            "oxygen_supply_m3_per_day": supply,
            "oxygen_unmet_m3_per_day": np.maximum(demand - supply, 0.0),
            "oxygen_demand_cylinders_per_day": demand / self.cylinder_m3,
            "oxygen_demand_liquid_tonnes_per_day": demand / self.liquid_m3_per_tonne,
            "beds_oxygen_available": cap["beds_oxygen"],
            "beds_icu_available": cap["beds_icu"],
            "icu_staffed_available": cap["icu_staffed"],
            # Free places that could take a patient today: a bed without oxygen cannot treat tier 2 or 3.
            "beds_covid_free": np.maximum(ward_places - n_ox, 0.0) + np.maximum(icu_places - n_icu, 0.0),
            "icu_staffed_free": np.maximum(cap["icu_staffed"] - n_icu, 0.0),
            "staff_absence": cap["staff_absence"],
        }
        if self._single:
            return {name: np.asarray(v[0], dtype=float) for name, v in out.items()}
        return {name: np.asarray(v, dtype=float) for name, v in out.items()}


def build_care(config: Config, population_total: float, rng: np.random.Generator | None = None) -> Care:
    """Build the care model of a run (capacity included) from the whole config.

    ``rng=None`` for deterministic engines; the run's generator for stochastic ones.
    """
    return Care(config.care, config.oxygen, build_health_system(config, population_total), rng)
