"""The daily loop: one engine, one care module, indicators and policies, one results Dataset."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import importlib.metadata
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike
from tqdm import tqdm  # plain bars: tqdm.auto warns in Jupyter without ipywidgets

from .capacity import build_health_system
from .care import Care, build_care
from .config import AGE_GROUPS, SETTINGS, Config, load_config
from .disease import STRATA, Disease, build_disease, reporting_delay_weights, split_severity
from .draws import member_configs
from .engines.base import DayInputs, Engine
from .engines.seir import CompartmentalEngine, EnsembleEngine, Solver
from .indicators import IndicatorTracker, threshold_set_of
from .policy import PolicyEngine, build_policy_engine
from .population import Population, build_population
from .results import Recorder

__all__ = ["run", "run_batch", "EngineName", "Outputs", "contact_multipliers", "imported_infections", "prepare"]

EngineName = Literal["seir", "abm"]
#: What a batch records: everything, or only transmission, the severity split and reported cases (see
#: :func:`run_batch`).
Outputs = Literal["all", "transmission"]
#: Variables a batch with ``outputs="transmission"`` records (besides ``population`` and ``beta``).
TRANSMISSION_VARIABLES = (
    "new_infections",
    "new_infections_by_variant",
    "new_onsets",
    "new_onsets_mild",
    "new_onsets_severe",
    "new_onsets_critical",
    "new_reported_cases",
    "n_susceptible",
    "n_recovered",
    "n_exposed",
    "n_infectious",
    "n_by_immunity",
    "contact_multiplier",
)
SeedLike = int | np.random.SeedSequence | np.random.Generator | None


@functools.cache  # reading the installed metadata takes milliseconds: a fit asks at every batch
def _version() -> str:
    try:
        return importlib.metadata.version("scenarios")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


STREAMS = ("engine", "severity", "reporting", "care")


def _streams(seed: SeedLike) -> tuple[dict[str, np.random.Generator], str]:
    """One independent generator per stochastic part, and a text that reproduces them.

    Separate streams keep common random numbers across what-ifs: changing, say, the ascertainment changes
    how many draws reporting makes, but not the draws of the engine, severity or care. Children of a
    SeedSequence are derived without spawning from it, so the same SeedSequence always gives the same
    streams (sweeps reuse a replicate's seed across scenarios).
    """
    if isinstance(seed, np.random.Generator):
        return dict(zip(STREAMS, seed.spawn(len(STREAMS)), strict=True)), repr(seed.bit_generator.seed_seq)
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    children = [
        np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, k), pool_size=seq.pool_size)
        for k in range(len(STREAMS))
    ]
    entropy = str(seq.entropy) + (f" spawn_key={seq.spawn_key}" if seq.spawn_key else "")
    return {name: np.random.default_rng(c) for name, c in zip(STREAMS, children, strict=True)}, entropy


def contact_multipliers(config: Config, date: dt.date) -> dict[str, float]:
    """Product of the multipliers of the interventions in force on ``date`` (isolation included), by setting."""
    out = dict.fromkeys(SETTINGS, 1.0)
    for iv in config.interventions:
        if iv.active(date):
            for s, m in iv.multipliers_with_isolation(
                config.disease.infectious_days, config.disease.infectious_stages
            ).items():
                out[s] *= m
    return out


def imported_infections(config: Config, population: Population, day: int) -> np.ndarray:
    """Infections seeded on ``day``, shape (n_variant, n_age), spread over ages by population share.

    Day 0 seeds the resident variant's initial infections; the new variant is imported at
    ``imported_per_day`` for ``import_days`` days from its introduction date.
    """
    new = config.variants.new
    out = np.zeros((1 + (new is not None), len(population.sizes)))
    shares = population.sizes / population.total
    if day == 0:
        out[0] = config.variants.resident.initial_infections * shares
    if new is not None:
        since = day - (new.introduction_date - config.scenario.start_date).days
        if 0 <= since < new.import_days:
            out[1] = new.imported_per_day * shares
    return out


class Reporter:
    """Reported cases by report date: a share of onsets, each reported after a delay.

    Deterministic engines get the expectation (a convolution); stochastic ones a binomial draw for
    ascertainment and a multinomial draw of delays. :meth:`ensemble` reports for many deterministic runs
    at once (arrays with a leading member axis).
    """

    def __init__(self, config: Config, n_days: int, n_age: int, rng: np.random.Generator | None):
        self.ascertainment = config.reporting.ascertainment
        self.weights = reporting_delay_weights(config.reporting)
        self.rng = rng
        self.pending = np.zeros((n_days + len(self.weights), n_age))

    @classmethod
    def ensemble(cls, configs: Sequence[Config], n_days: int, n_age: int) -> Reporter:
        """Deterministic reporting of ``len(configs)`` members; :meth:`step` takes onsets (member, age)."""
        self = cls.__new__(cls)
        self.rng = None
        self.ascertainment = np.array([c.reporting.ascertainment for c in configs])[:, None, None]
        kernels = [reporting_delay_weights(c.reporting) for c in configs]  # lengths differ with the delay
        self.weights = np.zeros((len(kernels), max(map(len, kernels)), 1))
        for w, kernel in zip(self.weights, kernels, strict=True):
            w[: len(kernel), 0] = kernel
        self.pending = np.zeros((len(configs), n_days + self.weights.shape[1], n_age))
        return self

    def step(self, day: int, onsets: np.ndarray) -> np.ndarray:
        """Add the day's onsets (by age) and return the cases reported on ``day``."""
        if self.pending.ndim == 3:  # an ensemble: same arithmetic, member by member
            self.pending[:, day : day + self.weights.shape[1]] += self.ascertainment * (
                self.weights * onsets[:, None, :]
            )
            return self.pending[:, day]
        span = slice(day, day + len(self.weights))
        if self.rng is None:
            self.pending[span] += self.ascertainment * np.outer(self.weights, onsets)
        else:
            reported = self.rng.binomial(np.rint(onsets).astype(np.int64), self.ascertainment)
            self.pending[span] += self.rng.multinomial(reported, self.weights).T
        return self.pending[day]


def prepare(config: Config) -> tuple[Population, Disease]:
    """Build the population and the disease arrays of a config (what ``validate`` checks beyond the schema).

    Raises
    ------
    ConfigError
        When the config validates but cannot be run (e.g. an Rt that no transmission rate reaches).
    """
    population = build_population(config.population)
    return population, build_disease(config, population, contact_multipliers(config, config.scenario.start_date))


def _engine(
    name: str,
    config: Config,
    population: Population,
    disease: Disease,
    rng: np.random.Generator,
    solver: Solver = "auto",
) -> Engine:
    if name == "seir":
        return CompartmentalEngine(config, population, disease, rng, solver=solver)
    if name == "abm":
        from .engines.abm import AgentBasedEngine  # Mesa is imported only when asked for

        return AgentBasedEngine(config, population, disease, rng)
    raise ValueError(f"unknown engine {name!r}; allowed: 'seir', 'abm'")


def run(
    config: Config | str | Path,
    engine: EngineName = "seir",
    seed: SeedLike = 0,
    progress: bool = False,
    solver: Solver = "auto",
) -> xr.Dataset:
    """Run one what-if and return its results.

    Parameters
    ----------
    config : Config or path
        A validated config, or the path of a TOML file to load.
    engine : {"seir", "abm"}
        Compartmental (deterministic) or agent-based (stochastic) transmission.
    seed : int, SeedSequence or Generator
        Randomness for stochastic parts; the same seed gives the same results.
    progress : bool
        Show a progress bar (tqdm) over days.
    solver : {"auto", "compiled", "scipy"}
        Integrator of the compartmental engine: ``"scipy"`` is the reference (``solve_ivp``, RK45);
        ``"compiled"`` runs the same method in numba-compiled code (same results within the reference's
        own error, below 1e-6 relative; many times faster); ``"auto"`` is ``"compiled"`` when numba is
        installed. Recorded in ``attrs["seir_solver"]``. Ignored by the agent-based engine.

    Returns
    -------
    xarray.Dataset
        Dims ``time`` (calendar dates, with a ``day`` coordinate), ``age_group`` and others by variable;
        each variable has ``units``, ``long_name`` and ``cell_methods``; provenance in ``attrs``.

    Examples
    --------
    >>> import scenarios
    >>> cfg = scenarios.load_config("configs/homogeneous_r0_2.5.toml")
    >>> ds = scenarios.run(cfg)
    >>> round(float(ds.new_infections.sum()) / ds.attrs["population_total"], 3)
    0.893
    """
    if not isinstance(config, Config):
        config = load_config(config)
    rngs, entropy = _streams(seed)
    n_days = config.scenario.horizon_days
    start = config.scenario.start_date
    population, disease = prepare(config)
    model = _engine(engine, config, population, disease, rngs["engine"], solver)
    # Deterministic engines get expected values downstream too.
    stream = {k: (g if model.stochastic else None) for k, g in rngs.items()}
    reporter = Reporter(config, n_days, len(population.sizes), stream["reporting"])
    recovered = np.isin(STRATA, ("infected_resident", "infected_new"))
    rec = Recorder(
        start,
        n_days,
        {
            "age_group": list(AGE_GROUPS),
            "variant": list(disease.variants),
            "immunity": list(STRATA),
            "setting": list(SETTINGS),
        },
    )
    care = build_care(config, population.total, stream["care"])
    tracker = IndicatorTracker(n_days, population.total, threshold_set_of(config), config.levels)
    policies = build_policy_engine(config, n_days, health=care.capacity)
    rec.coords.update(tracker.coords | policies.coords)

    for day in tqdm(range(n_days), disable=not progress, desc=config.scenario.name, unit="day"):
        date = start + dt.timedelta(days=day)
        multipliers = contact_multipliers(config, date)
        triggered = policies.contact_multipliers(day)  # responses decided on earlier days
        multipliers = {s: multipliers[s] * triggered[s] for s in SETTINGS}
        boosters = policies.booster_doses(day)
        isolation = tuple(iv.isolation for iv in config.interventions if iv.isolation and iv.active(date))
        isolation += policies.isolation(day)
        inputs = DayInputs(day, multipliers, imported_infections(config, population, day), boosters, isolation)
        flows = model.step(inputs)
        mild, severe, critical = split_severity(flows.new_onsets, disease, stream["severity"])
        onsets = mild + severe + critical
        reported = reporter.step(day, onsets)
        rec.add(
            day,
            new_infections=flows.new_infections.sum(axis=(0, 1)),
            new_infections_by_variant=flows.new_infections.sum(axis=(1, 2)),
            new_onsets=onsets,
            new_onsets_mild=mild,
            new_onsets_severe=severe,
            new_onsets_critical=critical,
            new_reported_cases=reported,
            n_susceptible=flows.susceptible[~recovered].sum(axis=0),
            n_recovered=flows.susceptible[recovered].sum(axis=0),
            n_exposed=flows.exposed.sum(axis=0),
            n_infectious=flows.infectious.sum(axis=0),
            n_by_immunity=flows.susceptible,
            contact_multiplier=[multipliers[s] for s in SETTINGS],
        )
        # Admissions, occupancy, overflow, deaths and oxygen against capacity.
        prevalence = float(flows.infectious.sum()) / population.total
        cared = care.step(day, severe, critical, mild, prevalence=prevalence)
        rec.add(day, **cared)
        # Today's indicators decide responses from tomorrow on.
        state = tracker.update_from(day, {"new_reported_cases": reported, **cared})
        policies.update(day, {"activation": state["activation"], **state["met"]}, state["level"])
        rec.add(day, **tracker.record(day), **policies.record(day))

    attrs = _attrs(config, population, engine, entropy, tracker) | getattr(model, "attrs", {})
    static = _static(population.sizes, disease.beta)
    labels = tracker.static() | policies.static()  # per-criterion and per-policy labels (coords)
    return rec.dataset(attrs, static | labels).set_coords(list(labels))


def _attrs(config: Config, population: Population, engine: str, entropy: str, tracker: IndicatorTracker) -> dict:
    """Provenance and run attributes of a results Dataset."""
    prov = config.provenance
    return {
        "title": f"scenarios: {config.scenario.name}",
        "scenario_name": config.scenario.name,
        "area_name": population.name,
        "province_code": population.province_code or "",
        "population_total": population.total,
        "start_date": config.scenario.start_date.isoformat(),
        "engine": engine,
        "seed": entropy,
        "version": _version(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config_path": prov.get("config_path", ""),
        "config_text": prov.get("config_text", ""),
        "overrides": prov.get("overrides", "{}"),
        "config_json": config.model_dump_json(),
        "config_sha256": config.sha256(),
        "Conventions": "CF-1.8",
        **tracker.attrs(),  # threshold set and level table, read back by crossings()
    }


def _static(sizes: np.ndarray, beta: np.ndarray, dim: str | None = None) -> dict[str, xr.DataArray]:
    """Return population by age and transmission rates (with a leading ``dim`` for a batch)."""
    lead = () if dim is None else (dim,)
    return {
        "population": xr.DataArray(
            sizes,
            dims=(*lead, "age_group"),
            attrs={"units": "people", "long_name": "population", "long_name_vi": "dân số"},
        ),
        "beta": xr.DataArray(
            beta,
            dims=(*lead, "variant"),
            attrs={"units": "1/(contact day)", "long_name": "transmission rate per contact"},
        ),
    }


#: Members advanced together at most; larger batches run in chunks of this size (bounds memory: the care
#: module's cohort buffers hold about 0.2 MB per member).
CHUNK = 250


def run_batch(
    config: Config | str | Path,
    draws: Mapping[str, ArrayLike],
    *,
    dim: str = "draw",
    progress: bool = False,
    solver: Solver = "auto",
    outputs: Outputs = "all",
) -> xr.Dataset:
    """Run the compartmental model for many parameter draws at once, stacked along ``dim``.

    Every draw is one run of :func:`run` (``engine="seir"``) on ``config`` with that draw's values applied;
    all runs are advanced together day by day (engine state, severity, reporting, care, indicators and
    triggered policies carry a member axis), which costs far less than one :func:`run` per draw.

    Parameters
    ----------
    config : Config or path
        The base config.
    draws : mapping of str to array-like
        Dotted config keys, as for :func:`scenarios.config.apply_overrides` (list items by index, e.g.
        ``policies.3.work``), each with ``K`` values (shape ``(K, 9)`` for lists by age).
    dim : str
        Name of the leading dimension of the result.
    progress : bool
        Show a progress bar (tqdm) over days.
    solver : {"auto", "compiled", "scipy"}
        As :func:`run`.
    outputs : {"all", "transmission"}
        ``"transmission"`` stops each day after reporting: only the engine's, severity-split and reported
        variables are recorded (same values as ``"all"``), without care, indicators or policies, which is
        several times cheaper (e.g. for fitting reported cases). Without triggered policies transmission does
        not depend on care, so nothing recorded changes.

    Returns
    -------
    xarray.Dataset
        Equal, variable by variable and day by day, to
        ``xr.concat([run(apply_overrides(config, draw_i)) for i in range(K)], dim, data_vars="all")`` (to
        rounding error). Attributes are the base config's, plus ``batch_draws`` (the draws as JSON), from
        which each member's config is ``config`` with its values applied.

    Raises
    ------
    ValueError
        A key that cannot vary within a batch (dates, horizon, population, threshold set, state layout;
        see :data:`scenarios.draws.FIXED`), or values of different lengths; ``outputs="transmission"``
        when the config has triggered policies (their responses depend on care and indicators).
    ConfigError
        A draw that is not a valid config, naming the key and the draw index.

    Examples
    --------
    >>> import numpy as np, scenarios
    >>> from scenarios.simulate import run_batch
    >>> cfg = scenarios.load_config("configs/homogeneous_r0_2.5.toml")
    >>> ds = run_batch(cfg, {"variants.resident.r0": [1.5, 2.5]})
    >>> attack = ds.new_infections.sum(["time", "age_group"]) / ds.attrs["population_total"]
    >>> np.round(attack.values, 3).tolist()
    [0.583, 0.893]
    """
    if not isinstance(config, Config):
        config = load_config(config)
    if outputs not in ("all", "transmission"):
        raise ValueError(f"outputs={outputs!r}; allowed: 'all', 'transmission'")
    if outputs == "transmission" and config.policies:
        raise ValueError("outputs='transmission' needs a config without triggered policies (they depend on care)")
    members = member_configs(config, draws)
    population = build_population(config.population)
    _, entropy = _streams(0)  # deterministic: the seed only labels the results, as run()'s default
    rec = Recorder(
        config.scenario.start_date,
        config.scenario.horizon_days,
        {"age_group": list(AGE_GROUPS), "immunity": list(STRATA), "setting": list(SETTINGS)},
        ensemble=(dim, len(members)),
    )
    beta = np.zeros((len(members), 1 + (config.variants.new is not None)))
    for i in range(0, len(members), CHUNK):
        part = slice(i, min(i + CHUNK, len(members)))
        tracker, policies, engine_attrs, beta[part] = _batch_loop(
            config, members[part], population, solver, progress, rec, part, outputs == "all"
        )
    attrs = _attrs(config, population, "seir", entropy, tracker) | engine_attrs
    attrs["batch_draws"] = json.dumps({k: np.asarray(v).tolist() for k, v in draws.items()}, default=str)
    sizes = np.broadcast_to(population.sizes, (len(members), len(population.sizes)))
    static = _static(sizes, beta, dim)
    labels = tracker.static() | policies.static()
    return rec.dataset(attrs, static | labels).set_coords(list(labels))


def _batch_loop(
    config: Config,
    members: list[Config],
    population: Population,
    solver: Solver,
    progress: bool,
    rec: Recorder,
    part: slice,
    full: bool = True,
) -> tuple[IndicatorTracker, PolicyEngine, dict, np.ndarray]:
    """Run the daily loop of :func:`run` for deterministic members advanced together (to reporting if not ``full``)."""
    k, n_age = len(members), len(population.sizes)
    n_days, start = config.scenario.horizon_days, config.scenario.start_date
    diseases = [build_disease(c, population, contact_multipliers(c, start)) for c in members]
    model = EnsembleEngine(population, diseases, solver=solver)
    severity = dataclasses.replace(
        diseases[0],
        p_severe=np.array([d.p_severe for d in diseases]),
        p_critical=np.array([d.p_critical for d in diseases]),
    )
    reporter = Reporter.ensemble(members, n_days, n_age)
    # Health systems serve care and policies; without care (and so without policies) only the first
    # member's are built, for the results' labels.
    labelled = members if full else members[:1]
    healths = [build_health_system(c, population.total) for c in labelled]
    if full:
        care = Care.ensemble([c.care for c in members], [c.oxygen for c in members], healths)
    thresholds = threshold_set_of(config)
    tracker = IndicatorTracker(n_days, population.total, thresholds, config.levels, members=k)
    policies = [build_policy_engine(c, n_days, health=h) for c, h in zip(labelled, healths, strict=True)]
    rec.coords["variant"] = list(diseases[0].variants)
    rec.coords.update(tracker.coords | policies[0].coords)
    scheduled = _scheduled_multipliers(config, members, n_days)
    imports = _imports(members, population, n_days)
    recovered = np.isin(STRATA, ("infected_resident", "infected_new"))
    setting_of = [SETTINGS.index(s) for s in population.contacts]
    active = [i for i, p in enumerate(policies) if p.names]  # members with policies to decide
    for day in tqdm(range(n_days), disable=not progress, desc=config.scenario.name, unit="day"):
        multipliers = scheduled[day].copy()
        boosters = np.zeros((k, n_age))
        for i in active:
            triggered = policies[i].contact_multipliers(day)  # responses decided on earlier days
            multipliers[i] *= [triggered[s] for s in SETTINGS]
            boosters[i] = policies[i].booster_doses(day)
        contacts = 0
        for (_, c), j in zip(population.contacts.items(), setting_of, strict=True):  # as contact_matrix()
            contacts = contacts + multipliers[:, j, None, None] * c
        flows = model.step(day, contacts, imports[day], boosters)
        mild, severe, critical = split_severity(flows.new_onsets, severity)
        onsets = mild + severe + critical
        reported = reporter.step(day, onsets)
        rec.add(
            day,
            part,
            new_infections=flows.new_infections.sum(axis=(1, 2)),
            new_infections_by_variant=flows.new_infections.sum(axis=(2, 3)),
            new_onsets=onsets,
            new_onsets_mild=mild,
            new_onsets_severe=severe,
            new_onsets_critical=critical,
            new_reported_cases=reported,
            n_susceptible=flows.susceptible[:, ~recovered].sum(axis=1),
            n_recovered=flows.susceptible[:, recovered].sum(axis=1),
            n_exposed=flows.exposed.sum(axis=1),
            n_infectious=flows.infectious.sum(axis=1),
            n_by_immunity=flows.susceptible,
            contact_multiplier=multipliers,
        )
        if not full:
            continue
        prevalence = flows.infectious.reshape(k, -1).sum(axis=1) / population.total
        cared = care.step(day, severe, critical, mild, prevalence=prevalence)
        rec.add(day, part, **cared)
        state = tracker.update_from(day, {"new_reported_cases": reported, **cared})
        # Python scalars by member, converted once a day rather than member by member.
        met = {name: v.tolist() for name, v in state["met"].items()}
        activation = state["activation"].tolist()
        levels = state["level"].tolist() if state["level"] is not None else None
        for i in active:
            states = {"activation": activation[i], **{name: v[i] for name, v in met.items()}}
            policies[i].update(day, states, levels[i] if levels is not None else None)
        decided = {}
        if active:  # as PolicyEngine.record, for all members at once
            decided = {
                "policy_in_force": np.array([policies[i].in_force[day] for i in active], dtype=float),
                "policy_event": np.array([policies[i].event_flags[day] for i in active], dtype=float),
            }
        rec.add(day, part, **tracker.record(day), **decided)
    return tracker, policies[0], model.attrs, np.array([d.beta for d in diseases])


def _scheduled_multipliers(config: Config, members: list[Config], n_days: int) -> np.ndarray:
    """Contact multipliers of the dated interventions, shape (n_days, n_member, n_setting).

    Dates are shared (checked by :func:`scenarios.draws.member_configs`); values may differ by member. The
    product runs over interventions in config order, as :func:`contact_multipliers`.
    """
    out = np.ones((n_days, len(members), len(SETTINGS)))
    start = config.scenario.start_date
    for j, iv in enumerate(config.interventions):
        values = np.array([[m.interventions[j].contact_multipliers[s] for s in SETTINGS] for m in members])
        # The days on which iv.active(date) holds: from its start date to its end date, both included.
        first = max((iv.start_date - start).days, 0)
        stop = n_days if iv.end_date is None else min((iv.end_date - start).days + 1, n_days)
        if stop > first:  # (a negative stop would count from the end)
            out[first:stop] *= values
    return out


def _imports(members: list[Config], population: Population, n_days: int) -> np.ndarray:
    """:func:`imported_infections` of every member and day, shape (n_days, n_member, n_variant, n_age)."""
    new = [m.variants.new for m in members]
    out = np.zeros((n_days, len(members), 1 + (new[0] is not None), len(population.sizes)))
    shares = population.sizes / population.total
    out[0, :, 0] = np.array([m.variants.resident.initial_infections for m in members])[:, None] * shares
    if new[0] is not None:
        for i, (m, nv) in enumerate(zip(members, new, strict=True)):
            first = (nv.introduction_date - m.scenario.start_date).days
            days = np.arange(max(first, 0), min(first + nv.import_days, n_days))
            out[days, i, 1] = nv.imported_per_day * shares
    return out
