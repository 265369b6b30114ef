"""Synthetic population for the agent-based engine: agents with ages, households, schools and workplaces.

How it is built
---------------
1. **Ages.** Agents per 10-year band are the population's sizes divided by ``pop_scale`` (largest-remainder
   rounding); ages in years are uniform within a band (80+: 80-94). Agents are sorted by band, so each band
   is a contiguous range of indices.
2. **Households.** Sizes are ``1 + Poisson(mean - 1)`` with the configured mean (Covasim's Vietnam value,
   3.78). Each household has a reference person aged ``head_min_age`` or more. The other members' ages are
   drawn given the head's band from a joint table fitted by iterative proportional fitting (IPF) to the home
   contact matrix (seed) and to the numbers of heads and non-heads by band (margins), as synthpops draws
   household members from the home contact matrix; so household age composition follows Prem's home mixing
   while every agent lives in exactly one household.
3. **Schools.** Kindergarten (3-5), primary (6-10), lower secondary (11-14), upper secondary (15-17) and
   tertiary (18-22) enrol the configured shares; each level is split into schools of about
   ``school_size_mean`` pupils, plus teachers (working adults aged 20-59) at ``pupils_per_teacher``.
4. **Workplaces.** People not in school work with the configured probability by band; workers are spread
   at random over workplaces of mean size ``workplace_size_mean``.
5. **Contact intensities.** Within a group (household, school, workplace) everyone can meet everyone. With
   ``E_s[i, j]`` the mean number of group-mates in band ``j`` of an agent in band ``i`` in setting ``s``, the
   daily contact weight of a pair is ``w_s[i, j] = C_s[i, j] / E_s[i, j]``, so the expected daily contacts
   by age and setting equal the target ``C_s`` (the population's reciprocal Prem matrices). Target contacts
   that no group can carry (``E_s = 0``, e.g. a band with nobody at work) are moved to the community, so
   the total contact matrix, hence R0 through the next-generation matrix, is unchanged. Community contacts
   are well mixed: ``w_c[i, j] = C_c[i, j] / n_j``.

References
----------
1. Prem K. et al. (2021) Projecting contact matrices in 177 geographical regions. PLoS Comput Biol 17(7).
2. Kerr C. C. et al. (2021) Covasim: an agent-based model of COVID-19 dynamics and interventions. PLoS Comput
   Biol 17(7) -- household sizes (``household_size_data.py``), Poisson clusters, layer contacts.
3. Mistry D. et al. (2021) Inferring high-resolution human mixing patterns for disease modeling. Nat Commun
   12:323 -- synthpops, household members drawn from the home contact matrix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .config import N_AGE, SETTINGS
from .config.abm import AgentBased
from .population import Population, largest_remainder

__all__ = [
    "GROUP_SETTINGS",
    "Groups",
    "SyntheticPopulation",
    "build_synthetic_population",
    "groupmate_counts",
]

GROUP_SETTINGS: tuple[str, ...] = ("home", "school", "work")
"""Settings made of groups; the remaining setting, ``community``, is well mixed."""

# School levels: (first age, last age + 1, config field of the enrolment share). Vietnam Education Law 2019:
# primary 6-10 (grades 1-5), lower secondary 11-14 (6-9), upper secondary 15-17 (10-12).
_LEVELS = (
    (3, 6, "enrolment_preschool"),
    (6, 11, "enrolment_primary"),
    (11, 15, "enrolment_lower_secondary"),
    (15, 18, "enrolment_upper_secondary"),
    (18, 23, "enrolment_tertiary"),
)
_TEACHER_AGES = (20, 60)
_OLDEST = 95  # ages in the 80+ band are uniform over 80..94 (assumption)


@dataclass(frozen=True)
class Groups:
    """A partition of (some) agents into groups, with both directions of the membership.

    Attributes
    ----------
    of_agent : ndarray of int32, shape (n_agents,)
        Group of each agent, ``-1`` when the agent is in none.
    indptr : ndarray of int64, shape (n_groups + 1,)
        Members of group ``g`` are ``members[indptr[g]:indptr[g + 1]]``.
    members : ndarray of int32
        Agent indices sorted by group.
    """

    of_agent: np.ndarray
    indptr: np.ndarray
    members: np.ndarray

    @classmethod
    def from_assignment(cls, of_agent: np.ndarray, n_groups: int) -> Groups:
        """Build from each agent's group (``-1`` for none)."""
        of_agent = np.asarray(of_agent, dtype=np.int32)
        inside = np.flatnonzero(of_agent >= 0)
        order = inside[np.argsort(of_agent[inside], kind="stable")].astype(np.int32)
        sizes = np.bincount(of_agent[inside], minlength=n_groups)
        indptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        return cls(of_agent, indptr, order)

    @property
    def n_groups(self) -> int:
        """Number of groups."""
        return len(self.indptr) - 1

    @property
    def sizes(self) -> np.ndarray:
        """Members per group."""
        return np.diff(self.indptr)

    def expand(self, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Members of ``groups`` and, for each, its position in ``groups`` (vectorised CSR gather)."""
        starts, lens = self.indptr[groups], self.indptr[groups + 1] - self.indptr[groups]
        total = int(lens.sum())
        owner = np.repeat(np.arange(len(groups)), lens)
        offsets = np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens)
        return self.members[np.repeat(starts, lens) + offsets], owner


@dataclass(frozen=True)
class SyntheticPopulation:
    """Agents and the groups they belong to, with per-pair contact weights by setting.

    Attributes
    ----------
    pop_scale : int
        People each agent stands for.
    band : ndarray of int8, shape (n_agents,)
        10-year age band of each agent (sorted ascending).
    age_years : ndarray of uint8, shape (n_agents,)
        Age in completed years.
    band_start : ndarray of int64, shape (n_age + 1,)
        Agents of band ``a`` are ``band_start[a]:band_start[a + 1]``.
    groups : dict of str to Groups
        ``home``, ``school`` and ``work`` groups.
    weights : dict of str to ndarray, shape (n_age, n_age)
        Daily contact weight between an agent of band ``i`` and one group-mate of band ``j``; for
        ``community``, with each agent of band ``j`` in the whole population.
    target : dict of str to ndarray, shape (n_age, n_age)
        The contact matrices the weights reproduce (``population.contacts``).
    moved_to_community : dict of str to ndarray, shape (n_age, n_age)
        Target contacts of each group setting that no group could carry, added to ``community``.
    """

    pop_scale: int
    band: np.ndarray
    age_years: np.ndarray
    band_start: np.ndarray
    groups: Mapping[str, Groups]
    weights: Mapping[str, np.ndarray]
    target: Mapping[str, np.ndarray]
    moved_to_community: Mapping[str, np.ndarray]

    @property
    def n_agents(self) -> int:
        """Number of agents."""
        return len(self.band)

    @property
    def agents_by_band(self) -> np.ndarray:
        """Agents in each band, shape (n_age,)."""
        return np.diff(self.band_start)

    def contact_matrices(self) -> dict[str, np.ndarray]:
        """Return expected daily contacts ``C[i, j]`` of an agent of band ``i`` with band ``j``, by setting.

        Computed from the groups as built (``weights * groupmate_counts``), the quantity to compare with the
        config's matrices.
        """
        out = {}
        n = np.maximum(self.agents_by_band, 1).astype(float)
        for s in SETTINGS:
            if s in self.groups:
                out[s] = self.weights[s] * groupmate_counts(self.groups[s], self.band)
            else:
                out[s] = self.weights[s] * n[None, :] * (self.agents_by_band > 0)[:, None]
        return out


def groupmate_counts(groups: Groups, band: np.ndarray) -> np.ndarray:
    """Mean number of group-mates in band ``j`` of an agent in band ``i``, shape (n_age, n_age).

    ``E[i, j] = sum_g n_g[i] * (n_g[j] - [i == j]) / N_i`` with ``n_g`` the band counts of group ``g`` and
    ``N_i`` all agents of band ``i`` (members or not).
    """
    counts = np.zeros((groups.n_groups, N_AGE))
    inside = groups.of_agent >= 0
    np.add.at(counts, (groups.of_agent[inside], band[inside]), 1.0)
    pairs = counts.T @ counts - np.diag(counts.sum(axis=0))
    n = np.bincount(band, minlength=N_AGE).astype(float)
    return np.divide(pairs, n[:, None], out=np.zeros_like(pairs), where=n[:, None] > 0)


def _ipf(seed: np.ndarray, rows: np.ndarray, cols: np.ndarray, iterations: int = 200) -> np.ndarray:
    """Fit a non-negative matrix to row and column sums (iterative proportional fitting)."""
    m = seed + 1e-9 * seed.max(initial=1.0) * ((rows[:, None] > 0) & (cols[None, :] > 0))
    for _ in range(iterations):
        r = m.sum(axis=1)
        m *= np.divide(rows, r, out=np.zeros_like(r), where=r > 0)[:, None]
        c = m.sum(axis=0)
        m *= np.divide(cols, c, out=np.zeros_like(c), where=c > 0)[None, :]
    return m


def _ages(population: Population, pop_scale: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n_total = int(round(population.total / pop_scale))
    per_band = largest_remainder(population.sizes, n_total)
    band = np.repeat(np.arange(N_AGE, dtype=np.int8), per_band)
    width = np.where(np.arange(N_AGE) == N_AGE - 1, _OLDEST - 10 * (N_AGE - 1), 10)
    age = 10 * band.astype(np.int64) + np.floor(rng.random(len(band)) * width[band]).astype(np.int64)
    return band, age.astype(np.uint8)


def _households(
    band: np.ndarray, age: np.ndarray, params: AgentBased, home: np.ndarray, rng: np.random.Generator
) -> Groups:
    n = len(band)
    # Household sizes 1 + Poisson(mean - 1) until everyone has a home (the last one is truncated).
    sizes = np.empty(0, dtype=np.int64)
    while sizes.sum() < n:
        extra = max(16, int((n - sizes.sum()) / params.household_size_mean * 1.05) + 16)
        sizes = np.concatenate([sizes, 1 + rng.poisson(params.household_size_mean - 1, extra)])
    ends = np.cumsum(sizes)
    n_hh = int(np.searchsorted(ends, n) + 1)
    sizes = sizes[:n_hh]
    sizes[-1] -= ends[n_hh - 1] - n
    # Reference persons: adults, or the oldest people when a population has too few adults.
    adults = np.flatnonzero(age >= params.head_min_age)
    if len(adults) >= n_hh:
        heads = rng.choice(adults, n_hh, replace=False)
    else:
        heads = np.argsort(-age.astype(np.int64), kind="stable")[:n_hh]
        rng.shuffle(heads)
    hh = np.full(n, -1, dtype=np.int32)
    hh[heads] = np.arange(n_hh, dtype=np.int32)
    # Other members: per slot, a band drawn given the head's band from the IPF-fitted joint table.
    slot_hh = np.repeat(np.arange(n_hh), sizes - 1)
    slot_head_band = band[heads][slot_hh]
    others = np.flatnonzero(hh < 0)
    rows = np.bincount(slot_head_band, minlength=N_AGE).astype(float)
    cols = np.bincount(band[others], minlength=N_AGE).astype(float)
    joint = _ipf(home * 1.0, rows, cols)
    wanted = np.empty(len(slot_hh), dtype=np.int64)
    order = np.argsort(slot_head_band, kind="stable")
    start = 0
    for i in range(N_AGE):
        k = int(rows[i])
        if k:
            block = np.repeat(np.arange(N_AGE), largest_remainder(joint[i], k))
            wanted[order[start : start + k]] = rng.permutation(block)
        start += k
    # Match slots to people of the wanted band; rounding leftovers are matched at random.
    pools = [rng.permutation(others[band[others] == j]) for j in range(N_AGE)]
    spare_slots, spare_people = [], []
    for j in range(N_AGE):
        slots = np.flatnonzero(wanted == j)
        k = min(len(slots), len(pools[j]))
        hh[pools[j][:k]] = slot_hh[slots[:k]]
        spare_slots.append(slots[k:])
        spare_people.append(pools[j][k:])
    spare_slots, spare_people = np.concatenate(spare_slots), rng.permutation(np.concatenate(spare_people))
    hh[spare_people] = slot_hh[spare_slots]
    return Groups.from_assignment(hh, n_hh)


def _split(people: np.ndarray, mean_size: float, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Shuffle ``people`` into ``round(len / mean_size)`` groups of near-equal size; give groups and count."""
    n_groups = max(1, int(round(len(people) / mean_size))) if len(people) else 0
    if not n_groups:
        return np.empty(0, dtype=np.int64), 0
    shuffled = rng.permutation(len(people))
    group = np.empty(len(people), dtype=np.int64)
    group[shuffled] = np.arange(len(people)) * n_groups // len(people)
    return group, n_groups


def _schools_and_work(
    band: np.ndarray, age: np.ndarray, params: AgentBased, rng: np.random.Generator
) -> tuple[Groups, Groups]:
    n = len(band)
    age = age.astype(np.int64)
    school = np.full(n, -1, dtype=np.int32)
    in_school = np.zeros(n, dtype=bool)
    employment = np.asarray(params.employment_by_age)
    # Enrolment first, so that pupils do not also work.
    pupils_by_level = []
    for lo, hi, field in _LEVELS:
        eligible = np.flatnonzero((age >= lo) & (age < hi))
        pupils = eligible[rng.random(len(eligible)) < getattr(params, field)]
        in_school[pupils] = True
        pupils_by_level.append(pupils)
    workers = np.flatnonzero(~in_school & (age >= 15) & (rng.random(n) < employment[band]))
    # Teachers come from working adults aged 20-59.
    can_teach = workers[(age[workers] >= _TEACHER_AGES[0]) & (age[workers] < _TEACHER_AGES[1])]
    can_teach = rng.permutation(can_teach)
    used, n_schools = 0, 0
    for pupils in pupils_by_level:
        group, k = _split(pupils, params.school_size_mean, rng)
        school[pupils] = group + n_schools
        n_teach = min(int(round(len(pupils) / params.pupils_per_teacher)), len(can_teach) - used)
        if k and n_teach > 0:
            teachers = can_teach[used : used + n_teach]
            school[teachers] = n_schools + np.arange(n_teach) % k
            used += n_teach
        n_schools += k
    is_teacher = np.zeros(n, dtype=bool)
    is_teacher[can_teach[:used]] = True
    workers = workers[~is_teacher[workers]]
    work = np.full(n, -1, dtype=np.int32)
    n_work = max(1, int(round(len(workers) / params.workplace_size_mean))) if len(workers) else 0
    if n_work:
        work[workers] = rng.integers(0, n_work, len(workers))  # Poisson-like sizes around the mean
    return Groups.from_assignment(school, n_schools), Groups.from_assignment(work, n_work)


def build_synthetic_population(
    population: Population, params: AgentBased, rng: np.random.Generator
) -> SyntheticPopulation:
    """Build agents, their households, schools and workplaces, and per-pair contact weights.

    Parameters
    ----------
    population : Population
        Sizes by band and target contact matrices by setting.
    params : AgentBased
        The ``abm`` config section (scale, household, school and work parameters).
    rng : Generator
        Source of randomness; the same generator state gives the same population.

    Returns
    -------
    SyntheticPopulation
        Agents sorted by age band, groups by setting, and weights such that
        :meth:`SyntheticPopulation.contact_matrices` equals ``population.contacts``.

    Examples
    --------
    >>> import numpy as np
    >>> from scenarios.config import Population as PopCfg
    >>> from scenarios.config.abm import AgentBased
    >>> from scenarios.population import build_population
    >>> pop = build_population(PopCfg(total=20_000))
    >>> synth = build_synthetic_population(pop, AgentBased(), np.random.default_rng(1))
    >>> synth.n_agents
    20000
    >>> bool(np.allclose(synth.contact_matrices()["home"], pop.contacts["home"]))
    True
    """
    pop_scale = params.people_per_agent(population.total)
    band, age = _ages(population, pop_scale, rng)
    target = {s: np.asarray(population.contacts[s], dtype=float) for s in SETTINGS}
    home = _households(band, age, params, target["home"], rng)
    school, work = _schools_and_work(band, age, params, rng)
    groups = {"home": home, "school": school, "work": work}
    weights, moved = {}, {}
    community = target["community"].copy()
    for s in GROUP_SETTINGS:
        e = groupmate_counts(groups[s], band)
        carried = e > 0
        weights[s] = np.divide(target[s], e, out=np.zeros_like(e), where=carried)
        moved[s] = np.where(carried, 0.0, target[s])
        community += moved[s]
    n = np.bincount(band, minlength=N_AGE).astype(float)
    weights["community"] = np.divide(community, n[None, :], out=np.zeros_like(community), where=n[None, :] > 0)
    band_start = np.concatenate([[0], np.cumsum(np.bincount(band, minlength=N_AGE))]).astype(np.int64)
    return SyntheticPopulation(
        pop_scale=pop_scale,
        band=band,
        age_years=age,
        band_start=band_start,
        groups=groups,
        weights=weights,
        target=target,
        moved_to_community=moved,
    )
