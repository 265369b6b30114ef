"""Agent-based engine: a Mesa model whose people live in numpy arrays, on a synthetic population.

Each agent has an age band, an immunity stratum, an infection state (not infected, latent, infectious) with
the variant and the days of its next transitions, and belongs to a household, maybe a school or workplace
(:mod:`scenarios.synthpop`). Per-person state is kept in arrays inside one :class:`mesa.Model`: person
objects cost ~1 M agent-days/s in Mesa, arrays ~50 M (``benchmarks/README.md``).

One day (step ``t``)
--------------------
1. Latent agents due today become infectious (onsets), infectious ones due today recover into
   ``recovered_to[v]``; protected agents due today wane; booster doses move agents of boostable strata to
   ``dose3``; importations infect susceptible agents (drawn with probability proportional to susceptibility).
2. Every agent not infected gets a hazard ``h = sum_v beta_v * s[v, stratum] * (sum over settings of
   m_setting * sum over infectious contacts of w_setting[i, j])``, with ``m`` the day's contact multipliers
   and ``w`` the per-pair daily contact weights of the synthetic population (so mean contacts by setting
   equal the config's matrices and R0 matches the next-generation matrix of the SEIR engine). It is infected
   with probability ``1 - exp(-h)``, by variant ``v`` with probability ``h_v / h``.
3. A person infected on day ``t`` draws latent and infectious durations ``L`` and ``D`` from the same Erlang
   distributions as the SEIR engine, and is infectious on days ``t + ceil(L)`` to ``t + ceil(L + D) - 1``:
   a day counts as infectious when its midpoint falls in the infectious period (infection at mid-day), so
   the expected number of infectious days is ``E[D]`` and the generation interval is unbiased.

Transitions are kept in day buckets (arrays of agents due on each day), so a day costs one pass over the
agents for the hazard draw plus work proportional to the infected and their groups.
"""

from __future__ import annotations

from collections import defaultdict

import mesa
import numpy as np

from ..config import N_AGE, SETTINGS, Config
from ..disease import DOSE3, WANED, Disease, spectral_radius
from ..population import Population, largest_remainder
from ..synthpop import GROUP_SETTINGS, SyntheticPopulation, build_synthetic_population
from .base import DayFlows, DayInputs

__all__ = ["AgentBasedEngine", "EpidemicModel", "beta_correction", "generation_interval_pmf"]

SUSCEPTIBLE, LATENT, INFECTIOUS = 0, 1, 2
_NO_DAY = np.iinfo(np.int32).max


def _stochastic_round(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Round to integers with ``E[round(x)] = x``."""
    x = np.asarray(x, dtype=float)
    low = np.floor(x)
    return (low + (rng.random(x.shape) < x - low)).astype(np.int64)


def _infectious_days(disease: Disease, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """First infectious day and first day after, relative to infection, for ``n`` draws (engine's rule)."""
    rng = np.random.default_rng(seed)
    lat = rng.gamma(disease.latent_stages, disease.latent_days / disease.latent_stages, n)
    dur = rng.gamma(disease.infectious_stages, disease.infectious_days / disease.infectious_stages, n)
    first = np.maximum(np.ceil(lat), 1).astype(np.int64)
    return first, np.maximum(np.ceil(lat + dur).astype(np.int64), first)


def beta_correction(synth: SyntheticPopulation, disease: Disease, n: int = 400_000, seed: int = 0) -> float:
    """Factor on ``beta`` so that the agents' next-generation matrix has the SEIR engine's R0.

    In the SEIR engine an infectious person makes ``beta * D * C`` infections (mass action). In a group an
    agent can infect a given group-mate only once: with pair hazard ``h`` per infectious day and ``n``
    infectious days, the chance is ``p(h) = 1 - E[exp(-h n)] < h E[n]``. The agents' next-generation matrix
    (everyone naive, baseline contacts) is ``K[a, b] = sum_s E_s[b, a] p(c beta w_s[a, b]) + c beta D
    C_community[b, a]``; ``c`` solves ``rho(K(c)) = beta D rho(C)``, rho the spectral radius (bisection; ``p`` is
    concave, so ``c >= 1``). Depletion of susceptibles *within* a group over several generations is not corrected.

    Parameters
    ----------
    synth : SyntheticPopulation
        Groups and pair weights.
    disease : Disease
        ``beta[0]`` and the natural history.
    n, seed : int
        Monte Carlo draws of the number of infectious days.

    Returns
    -------
    float
        The factor ``c`` (1 for a well-mixed population).
    """
    from ..synthpop import groupmate_counts

    first, end = _infectious_days(disease, n, seed)
    days_pmf = np.bincount(end - first) / n
    days = np.arange(len(days_pmf))
    mean_days = float(days_pmf @ days)
    beta = float(disease.beta[0])
    mates = {s: groupmate_counts(synth.groups[s], synth.band) for s in GROUP_SETTINGS}

    def ngm(c: float) -> np.ndarray:
        k = c * beta * mean_days * synth.weights["community"] * synth.agents_by_band[None, :]
        k = k.T.copy()  # K[a, b] from contacts of b with a
        for s in GROUP_SETTINGS:
            h = c * beta * synth.weights[s]
            p = 1.0 - np.exp(-h[..., None] * days) @ days_pmf
            k += mates[s].T * p
        return k

    contacts = synth.weights["community"] * synth.agents_by_band[None, :]
    contacts = contacts + sum(synth.weights[s] * mates[s] for s in GROUP_SETTINGS)
    target = spectral_radius(beta * mean_days * contacts.T)  # mass action, as in the SEIR engine
    if target <= 0:
        return 1.0
    lo, hi = 1.0, 1.0
    while spectral_radius(ngm(hi)) < target and hi < 1e3:
        lo, hi = hi, hi * 2
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if spectral_radius(ngm(mid)) < target else (lo, mid)
    return (lo + hi) / 2


def generation_interval_pmf(disease: Disease, n: int = 400_000, seed: int = 0) -> np.ndarray:
    """Return the engine's own generation interval: P(a transmission happens ``k`` days after infection).

    Under the engine's rule an agent infected on day 0 is infectious on the days ``k`` with
    ``ceil(L) <= k < ceil(L + D)``, each with the same hazard; the pmf is the expected number of infectious
    days at lag ``k`` over ``E[D]`` (Monte Carlo over ``n`` draws of the Erlang durations).

    Parameters
    ----------
    disease : Disease
        Natural-history means and Erlang shapes.
    n : int
        Monte Carlo draws.
    seed : int
        Seed of the draws (the result is a property of the engine, not of a run).

    Returns
    -------
    ndarray
        ``g[k]``, ``k = 0, 1, ...``; sums to 1.
    """
    first, end = _infectious_days(disease, n, seed)
    g = np.bincount(first, minlength=end.max() + 1).astype(float)
    g -= np.bincount(end, minlength=end.max() + 1)
    g = np.cumsum(g)[:-1] if g[-1] == 0 else np.cumsum(g)
    return g / g.sum()


class EpidemicModel(mesa.Model):
    """Mesa model holding every agent's state in arrays; ``step()`` advances one day.

    Parameters
    ----------
    synth : SyntheticPopulation
        Agents and their groups.
    disease : Disease
        Transmission, immunity and natural-history arrays (people units; the engine converts).
    rng : Generator
        Passed to :class:`mesa.Model` (SPEC 7 ``rng=``); ``self.rng`` draws everything.

    Attributes
    ----------
    state, stratum, variant : ndarray of int8, shape (n_agents,)
        Infection state (0 not infected, 1 latent, 2 infectious), immunity stratum, variant if infected.
    counts_susceptible : ndarray, shape (n_stratum, n_age)
        Agents not infected by stratum and band, kept up to date by every transition.
    counts_exposed, counts_infectious : ndarray, shape (n_variant, n_age)
        Agents latent / infectious by variant and band.
    datacollector : mesa.DataCollector
        Daily totals (agents): new infections, latent, infectious.
    """

    def __init__(
        self,
        synth: SyntheticPopulation,
        disease: Disease,
        rng: np.random.Generator,
        beta_correction: float = 1.0,
    ):
        super().__init__(rng=rng)
        self.synth, self.disease = synth, disease
        self.beta = disease.beta * beta_correction
        n = synth.n_agents
        self.n_variant, self.n_stratum = len(disease.variants), len(disease.strata)
        self.band = synth.band
        self.state = np.zeros(n, dtype=np.int8)
        self.variant = np.zeros(n, dtype=np.int8)
        self.onset_day = np.full(n, _NO_DAY, dtype=np.int32)
        self.recovery_day = np.full(n, _NO_DAY, dtype=np.int32)
        self.wane_day = np.full(n, _NO_DAY, dtype=np.int32)
        # Case isolation: the day an infectious agent is isolated and the factor on its contacts from then on.
        self.isolate_day = np.full(n, _NO_DAY, dtype=np.int32)
        self.isolation_factor = np.ones(n, dtype=np.float32)
        self.latent = np.zeros(n, dtype=np.float32)  # latent period drawn at infection, for isolation timing
        self.stratum = self._initial_strata()
        self.key = self._key(np.arange(n))  # band * n_stratum + stratum: index of the community hazard table
        self._due: dict[str, defaultdict[int, list[np.ndarray]]] = {
            k: defaultdict(list) for k in ("onset", "recovery", "wane")
        }
        self.counts_susceptible = np.zeros((self.n_stratum, N_AGE), dtype=np.int64)
        np.add.at(self.counts_susceptible, (self.stratum, self.band), 1)
        self.counts_exposed = np.zeros((self.n_variant, N_AGE), dtype=np.int64)
        self.counts_infectious = np.zeros((self.n_variant, N_AGE), dtype=np.int64)
        self.day = -1
        self.inputs: DayInputs | None = None
        self._schedule_waning(np.flatnonzero(disease.wanes[self.stratum]), 0, memoryless=True)
        self.flows = self._empty_flows()
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "new_infections": lambda m: int(m.flows["infections"].sum()),
                "latent": lambda m: int(m.counts_exposed.sum()),
                "infectious": lambda m: int(m.counts_infectious.sum()),
            }
        )

    # ----- set-up -------------------------------------------------------------------------------------
    def _initial_strata(self) -> np.ndarray:
        """Strata on day 0: per band, shares from ``disease.initial_strata`` (largest remainder, shuffled)."""
        stratum = np.zeros(self.synth.n_agents, dtype=np.int8)
        init = self.disease.initial_strata
        for a in range(N_AGE):
            lo, hi = self.synth.band_start[a], self.synth.band_start[a + 1]
            if hi == lo or init[:, a].sum() <= 0:
                continue
            k = largest_remainder(init[:, a], hi - lo)
            stratum[lo:hi] = self.rng.permutation(np.repeat(np.arange(self.n_stratum), k)).astype(np.int8)
        return stratum

    def _key(self, agents: np.ndarray) -> np.ndarray:
        return (self.band[agents].astype(np.int16) * self.n_stratum + self.stratum[agents]).astype(np.int16)

    def _empty_flows(self) -> dict[str, np.ndarray]:
        shape = (self.n_variant, self.n_stratum, N_AGE)
        return {"infections": np.zeros(shape, dtype=np.int64), "onsets": np.zeros(shape, dtype=np.int64)}

    # ----- scheduling -----------------------------------------------------------------------------------
    def _bucket(self, kind: str, agents: np.ndarray, days: np.ndarray) -> None:
        if len(agents) == 0:
            return
        order = np.argsort(days, kind="stable")
        agents, days = agents[order], days[order]
        bounds = np.concatenate([[0], np.flatnonzero(np.diff(days)) + 1, [len(days)]]).tolist()
        due = self._due[kind]
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            due[int(days[lo])].append(agents[lo:hi])

    def _pop_due(self, kind: str, day: int) -> np.ndarray:
        chunks = self._due[kind].pop(day, None)
        if not chunks:
            return np.empty(0, dtype=np.int64)
        return np.concatenate(chunks)

    def _schedule_waning(self, agents: np.ndarray, day: int, memoryless: bool = False) -> None:
        """Draw the day each agent's protection wanes (exponential, mean ``1 / waning_per_day`` of its stratum)."""
        rate = self.disease.waning_per_day[self.stratum[agents], 0]
        agents, rate = agents[rate > 0], rate[rate > 0]
        if len(agents) == 0:
            return
        wait = self.rng.exponential(1 / rate)
        # Waning from the start of a day, applied at the start of the day it falls in (day + ceil).
        days = day + (np.floor(wait) if memoryless else np.ceil(wait)).astype(np.int64)
        days = np.minimum(days, _NO_DAY - 1)
        self.wane_day[agents] = days
        self._bucket("wane", agents, days)

    # ----- transitions ---------------------------------------------------------------------------------
    def _move_strata(self, agents: np.ndarray, to: int) -> None:
        np.subtract.at(self.counts_susceptible, (self.stratum[agents], self.band[agents]), 1)
        self.stratum[agents] = to
        self.key[agents] = self._key(agents)
        np.add.at(self.counts_susceptible, (np.full(len(agents), to), self.band[agents]), 1)

    def infect(self, agents: np.ndarray, variants: np.ndarray) -> None:
        """Infect ``agents`` (all not infected) with ``variants`` today; draw their natural history."""
        if len(agents) == 0:
            return
        d, day = self.disease, self.day
        b, s = self.band[agents], self.stratum[agents]
        np.subtract.at(self.counts_susceptible, (s, b), 1)
        np.add.at(self.counts_exposed, (variants, b), 1)
        np.add.at(self.flows["infections"], (variants, s, b), 1)
        self.state[agents] = LATENT
        self.variant[agents] = variants
        self.wane_day[agents] = _NO_DAY  # protection is replaced on recovery
        lat = self.rng.gamma(d.latent_stages, d.latent_days / d.latent_stages, len(agents))
        dur = self.rng.gamma(d.infectious_stages, d.infectious_days / d.infectious_stages, len(agents))
        onset = day + np.maximum(np.ceil(lat), 1).astype(np.int64)
        recovery = np.maximum(day + np.ceil(lat + dur).astype(np.int64), onset)
        self.onset_day[agents], self.recovery_day[agents] = onset, recovery
        self.latent[agents] = lat
        self._bucket("onset", agents, onset)
        self._bucket("recovery", agents, recovery)

    def _onsets(self, isolation=()) -> None:
        agents = self._pop_due("onset", self.day)
        if len(agents) == 0:
            return
        v, s, b = self.variant[agents], self.stratum[agents], self.band[agents]
        self.state[agents] = INFECTIOUS
        for regime in isolation:
            self._isolate(agents, regime)
        np.subtract.at(self.counts_exposed, (v, b), 1)
        np.add.at(self.counts_infectious, (v, b), 1)
        np.add.at(self.flows["onsets"], (v, s, b), 1)

    def _isolate(self, agents: np.ndarray, regime) -> None:
        """Detect a share of agents at onset and isolate them ``delay_days`` after it.

        By the engine's midpoint rule (infection at mid-day), an agent infected on day ``t`` with latent period
        ``L`` is isolated from day ``t + ceil(L + d)``: the expected number of infectious days left is then
        ``E[(D - d)+]``, as in the compartmental engine's :meth:`Isolation.remaining_share`.
        """
        found = agents[self.rng.random(len(agents)) < regime.share_detected]
        if len(found) == 0:
            return
        lat = self.latent[found].astype(float)
        day = (self.onset_day[found] - np.ceil(lat) + np.ceil(lat + regime.delay_days)).astype(np.int32)
        earlier = day < self.isolate_day[found]
        self.isolate_day[found] = np.minimum(day, self.isolate_day[found])
        self.isolation_factor[found[earlier]] = np.minimum(self.isolation_factor[found[earlier]], regime.contact_factor)

    def _recoveries(self) -> None:
        agents = self._pop_due("recovery", self.day)
        if len(agents) == 0:
            return
        v, b = self.variant[agents], self.band[agents]
        np.subtract.at(self.counts_infectious, (v, b), 1)
        self.state[agents] = SUSCEPTIBLE
        to = self.disease.recovered_to[v].astype(np.int8)
        self.stratum[agents] = to
        self.key[agents] = self._key(agents)
        np.add.at(self.counts_susceptible, (to, b), 1)
        self.onset_day[agents] = self.recovery_day[agents] = _NO_DAY
        self.isolate_day[agents], self.isolation_factor[agents] = _NO_DAY, 1.0
        self._schedule_waning(agents[self.disease.wanes[to]], self.day)

    def _waning(self) -> None:
        # An agent re-scheduled (reinfected and recovered, or boosted) can land in the same day's bucket twice
        # with a matching wane_day; count it once.
        agents = np.unique(self._pop_due("wane", self.day))
        agents = agents[(self.wane_day[agents] == self.day) & (self.state[agents] == SUSCEPTIBLE)]
        agents = agents[self.disease.wanes[self.stratum[agents]]]
        self.wane_day[agents] = _NO_DAY
        self._move_strata(agents, WANED)

    def _draw(self, lo: int, hi: int, k: int, accept) -> np.ndarray:
        """Draw ``k`` distinct agents in ``lo:hi`` by rejection, accepting with chance ``accept(idx)``."""
        chosen = np.empty(0, dtype=np.int64)
        for _ in range(50):
            need = k - len(chosen)
            if need <= 0 or hi <= lo:
                break
            cand = self.rng.integers(lo, hi, max(4 * need, 64))
            cand = cand[self.rng.random(len(cand)) < accept(cand)]
            chosen = np.unique(np.concatenate([chosen, cand]))  # sorted: reshuffle before truncating
            chosen = self.rng.permutation(chosen)[:k]
        return np.sort(chosen)

    def boost(self, doses: np.ndarray) -> None:
        """Move ``doses[a]`` agents of band ``a`` from boostable strata (not infected) to ``dose3``."""
        boostable = self.disease.boostable
        for a in np.flatnonzero(doses > 0):
            lo, hi = self.synth.band_start[a], self.synth.band_start[a + 1]
            ok = boostable[self.stratum[lo:hi]] & (self.state[lo:hi] == SUSCEPTIBLE)
            eligible = lo + np.flatnonzero(ok)
            k = min(int(doses[a]), len(eligible))
            if k:
                agents = np.sort(self.rng.choice(eligible, k, replace=False))
                self._move_strata(agents, DOSE3)
                self._schedule_waning(agents, self.day)

    def seed_infections(self, imported: np.ndarray) -> None:
        """Infect ``imported[v, a]`` agents of band ``a`` with variant ``v``, chosen by susceptibility."""
        sus = self.disease.susceptibility
        for v, a in zip(*np.nonzero(imported > 0), strict=True):
            lo, hi = self.synth.band_start[a], self.synth.band_start[a + 1]

            def accept(idx, v=v):
                return sus[v, self.stratum[idx]] * (self.state[idx] == SUSCEPTIBLE)

            agents = self._draw(lo, hi, int(imported[v, a]), accept)
            self.infect(agents, np.full(len(agents), v, dtype=np.int8))

    # ----- transmission -------------------------------------------------------------------------------
    def transmit(self, multipliers) -> None:
        """Draw today's infections from the infectious agents through every setting."""
        d, synth = self.disease, self.synth
        nv, ns = self.n_variant, self.n_stratum
        if self.counts_infectious.sum() == 0:
            return
        infectious = np.flatnonzero(self.state == INFECTIOUS)
        iv, ib = self.variant[infectious], self.band[infectious]
        # Each infectious agent's weight: its isolation factor once isolated, else 1.
        isolated = self.isolate_day[infectious] <= self.day
        weight = np.where(isolated, self.isolation_factor[infectious], 1.0)
        # beta_v * susceptibility[v, s]: hazard per unit of contact pressure, by variant and stratum.
        bs = self.beta[:, None] * d.susceptibility  # (v, s)
        # Community (well mixed): one hazard per (band, stratum) cell, looked up through ``key``.
        inf_counts = np.zeros((nv, N_AGE))
        np.add.at(inf_counts, (iv, ib), weight)
        comm = multipliers.get("community", 1.0) * inf_counts @ synth.weights["community"].T  # (v, a)
        table_v = comm[:, :, None] * bs[:, None, :]  # (v, a, s)
        hazard = table_v.sum(axis=0).astype(np.float32).ravel()[self.key]
        # Groups with someone infectious: pressure by (group, band) from the pair weights, then one lookup
        # of a (group, band, stratum) table per member.
        parts = []
        for setting in GROUP_SETTINGS:
            m = multipliers.get(setting, 1.0)
            w = synth.weights[setting]
            if m == 0 or not w.any():
                continue
            groups = synth.groups[setting]
            g = groups.of_agent[infectious]
            has = g >= 0
            if not has.any():
                continue
            active, local = np.unique(g[has], return_inverse=True)
            counts = np.zeros((nv, len(active), N_AGE))
            np.add.at(counts, (iv[has], local, ib[has]), weight[has])
            pressure = m * (counts @ w.T)  # (v, group, band of the exposed)
            table_g = pressure[..., None] * bs[:, None, None, :]  # (v, group, band, stratum)
            members, owner = groups.expand(active)
            keep = self.state[members] == SUSCEPTIBLE
            members, owner = members[keep], owner[keep]
            flat = (owner * N_AGE + self.band[members]) * ns + self.stratum[members]
            hazard[members] += table_g.sum(axis=0).astype(np.float32).ravel()[flat]
            parts.append((groups, active, table_g))
        draw = self.rng.standard_exponential(len(hazard), dtype=np.float32)
        new = np.flatnonzero((draw < hazard) & (self.state == SUSCEPTIBLE))
        if nv == 1 or len(new) == 0:
            variants = np.zeros(len(new), dtype=np.int8)
        else:
            # Variant of each new infection in proportion to its hazard by variant.
            nb, nstr = self.band[new], self.stratum[new]
            per_v = table_v[:, nb, nstr]
            for groups, active, table_g in parts:
                g = groups.of_agent[new]
                at = np.minimum(np.searchsorted(active, g), len(active) - 1)
                inside = (g >= 0) & (active[at] == g)
                per_v[:, inside] += table_g[:, at[inside], nb[inside], nstr[inside]]
            cum = np.cumsum(per_v, axis=0)
            u = self.rng.random(len(new)) * cum[-1]
            variants = np.minimum((u[None, :] > cum).sum(axis=0), nv - 1).astype(np.int8)
        self.infect(new, variants)

    # ----- one day ----------------------------------------------------------------------------------------
    def step(self) -> None:
        """Advance one day under ``self.inputs`` (see the module docstring for the order of events).

        Mesa's ``Model.step`` takes no arguments, so the day's inputs (in agents) are set on the model first;
        without them the next day runs at baseline contacts with no importations or boosters.
        """
        inputs = self.inputs
        if inputs is None or inputs.day <= self.day:
            inputs = DayInputs(self.day + 1, {}, np.zeros((self.n_variant, N_AGE)), np.zeros(N_AGE))
        self.day = inputs.day
        self.flows = self._empty_flows()
        self._onsets(inputs.isolation)
        self._recoveries()
        self._waning()
        self.boost(np.asarray(inputs.booster_doses))
        self.seed_infections(np.asarray(inputs.imported))
        self.transmit(inputs.contact_multipliers)
        self.datacollector.collect(self)


class AgentBasedEngine:
    """Agent-based transmission engine behind the daily interface (:class:`scenarios.engines.base.Engine`).

    Parameters
    ----------
    config : Config
        The what-if; its ``abm`` section sets the scale and the synthetic population.
    population : Population
        Sizes and contact matrices by setting.
    disease : Disease
        Transmission, immunity and natural-history arrays.
    rng : Generator
        All randomness (population, natural history, transmission) comes from it: the same seed gives the
        same flows.

    Attributes
    ----------
    pop_scale : int
        People per agent; flows and stocks are multiplied by it.
    model : EpidemicModel
        The Mesa model.
    attrs : dict
        What to record in the results' attributes (scale and number of agents).

    Examples
    --------
    >>> import numpy as np, scenarios
    >>> cfg = scenarios.config.Config.model_validate({
    ...     "scenario": {"name": "demo", "start_date": "2025-01-01", "horizon_days": 30},
    ...     "population": {"total": 20000}, "variants": {"resident": {"r0": 2.5, "initial_infections": 20}}})
    >>> ds = scenarios.run(cfg, engine="abm", seed=1)
    >>> int(ds.new_infections.sum()) > 20
    True
    """

    stochastic = True

    def __init__(self, config: Config, population: Population, disease: Disease, rng: np.random.Generator):
        self.config, self.population, self.disease = config, population, disease
        synth = build_synthetic_population(population, config.abm, rng)
        self.synth = synth
        self.pop_scale = synth.pop_scale
        self.beta_correction = beta_correction(synth, disease)
        self.model = EpidemicModel(synth, disease, rng, self.beta_correction)
        self._rng = rng

    @property
    def attrs(self) -> dict[str, int]:
        """Scale of the run, for the results' attributes."""
        return {
            "abm_pop_scale": self.pop_scale,
            "abm_n_agents": self.synth.n_agents,
            "abm_beta_correction": self.beta_correction,
        }

    def step(self, inputs: DayInputs) -> DayFlows:
        """Advance one day; see :class:`scenarios.engines.base.Engine`. Outputs are in people."""
        k, rng = self.pop_scale, self.model.rng
        imported = np.asarray(inputs.imported, dtype=float) / k
        boosters = np.asarray(inputs.booster_doses, dtype=float) / k
        # Isolation acts person by person here: divide out its mean-field effect from the multipliers.
        d = self.disease
        mean_field = float(np.prod([i.multiplier(d.infectious_days, d.infectious_stages) for i in inputs.isolation]))
        unscale = 1.0 / mean_field if mean_field > 0 else 0.0
        agent_inputs = DayInputs(
            day=inputs.day,
            contact_multipliers={s: float(inputs.contact_multipliers.get(s, 1.0)) * unscale for s in SETTINGS},
            imported=_stochastic_round(imported, rng),
            booster_doses=_stochastic_round(boosters, rng),
            isolation=tuple(inputs.isolation),
        )
        m = self.model
        m.inputs = agent_inputs
        m.step()
        return DayFlows(
            new_infections=(m.flows["infections"] * k).astype(float),
            new_onsets=(m.flows["onsets"] * k).astype(float),
            susceptible=(m.counts_susceptible * k).astype(float),
            exposed=(m.counts_exposed * k).astype(float),
            infectious=(m.counts_infectious * k).astype(float),
        )
