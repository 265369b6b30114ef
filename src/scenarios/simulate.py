"""The daily loop: one engine, one care module, indicators and policies, one results Dataset."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
from pathlib import Path
from typing import Literal

import numpy as np
import xarray as xr
from tqdm import tqdm  # plain bars: tqdm.auto warns in Jupyter without ipywidgets

from .care import build_care
from .config import AGE_GROUPS, SETTINGS, Config, load_config
from .disease import STRATA, Disease, build_disease, reporting_delay_weights, split_severity
from .engines.base import DayInputs, Engine
from .engines.seir import CompartmentalEngine
from .indicators import IndicatorTracker, threshold_set_of
from .policy import build_policy_engine
from .population import Population, build_population
from .results import Recorder

__all__ = ["run", "EngineName", "contact_multipliers", "imported_infections", "prepare"]

EngineName = Literal["seir", "abm"]
SeedLike = int | np.random.SeedSequence | np.random.Generator | None


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
    """Product of the multipliers of the interventions in force on ``date``, by setting."""
    out = dict.fromkeys(SETTINGS, 1.0)
    for iv in config.interventions:
        if iv.active(date):
            for s, m in iv.contact_multipliers.items():
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
    ascertainment and a multinomial draw of delays.
    """

    def __init__(self, config: Config, n_days: int, n_age: int, rng: np.random.Generator | None):
        self.ascertainment = config.reporting.ascertainment
        self.weights = reporting_delay_weights(config.reporting)
        self.rng = rng
        self.pending = np.zeros((n_days + len(self.weights), n_age))

    def step(self, day: int, onsets: np.ndarray) -> np.ndarray:
        """Add the day's onsets (by age) and return the cases reported on ``day``."""
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


def _engine(name: str, config: Config, population: Population, disease: Disease, rng: np.random.Generator) -> Engine:
    if name == "seir":
        return CompartmentalEngine(config, population, disease, rng)
    if name == "abm":
        from .engines.abm import AgentBasedEngine  # Mesa is imported only when asked for

        return AgentBasedEngine(config, population, disease, rng)
    raise ValueError(f"unknown engine {name!r}; allowed: 'seir', 'abm'")


def run(
    config: Config | str | Path,
    engine: EngineName = "seir",
    seed: SeedLike = 0,
    progress: bool = False,
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
    model = _engine(engine, config, population, disease, rngs["engine"])
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
        inputs = DayInputs(day, multipliers, imported_infections(config, population, day), boosters)
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

    prov = config.provenance
    resolved = config.model_dump_json()
    attrs = {
        "title": f"scenarios: {config.scenario.name}",
        "scenario_name": config.scenario.name,
        "area_name": population.name,
        "province_code": population.province_code or "",
        "population_total": population.total,
        "start_date": start.isoformat(),
        "engine": engine,
        "seed": entropy,
        "version": _version(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config_path": prov.get("config_path", ""),
        "config_text": prov.get("config_text", ""),
        "overrides": prov.get("overrides", "{}"),
        "config_json": resolved,
        "config_sha256": hashlib.sha256(resolved.encode()).hexdigest(),
        "Conventions": "CF-1.8",
        **tracker.attrs(),  # threshold set and level table, read back by crossings()
    }
    attrs.update(getattr(model, "attrs", {}))  # engine choices, e.g. the agent-based pop_scale
    static = {
        "population": xr.DataArray(
            population.sizes,
            dims="age_group",
            attrs={"units": "people", "long_name": "population", "long_name_vi": "dân số"},
        ),
        "beta": xr.DataArray(
            disease.beta,
            dims="variant",
            attrs={"units": "1/(contact day)", "long_name": "transmission rate per contact"},
        ),
    }
    labels = tracker.static() | policies.static()  # per-criterion and per-policy labels (coords)
    return rec.dataset(attrs, static | labels).set_coords(list(labels))
