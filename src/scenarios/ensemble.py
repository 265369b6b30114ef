"""Replicates, parameter uncertainty and what-if sweeps: many runs stacked in one Dataset.

:func:`sweep` runs one config under several named what-ifs (``scenario``) and several replicates
(``replicate``): each replicate has its own random seed and, with ``vary``, its own draw of uncertain
parameters. :func:`summarise_crossings` turns the stacked results into the planner's question, *when* would
the plan's thresholds be crossed, with uncertainty: the share of replicates in which each criterion is
crossed and quantiles of the first date and of the lead time before care runs out.

Randomness (``docs/design.md``, rule 5)
-----------------------------------
``root = SeedSequence(seed)``; replicate ``k`` runs with ``root.spawn(replicates)[k]`` (spawn key ``(k,)``)
in every scenario, so scenarios are compared under common random numbers. Replicate ``k``'s uncertain
parameters are drawn from a stream of their own, ``SeedSequence([root.entropy, VARY_TAG], spawn_key=(k,))``
(the tag keeps it apart from the runs' streams, which :func:`scenarios.run` derives as ``(k, j)``): plain
(independent) uniform draws, one per ``vary`` key in the order given, the same for every scenario. Draws of
replicate ``k`` do not depend on how many replicates are run (asking for 50 instead of 20 keeps the first 20
as they were).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pydantic
import xarray as xr
from tqdm import tqdm  # plain bars: tqdm.auto warns in Jupyter without ipywidgets

from .config import Config, ConfigError, apply_overrides, dotted_keys, load_config
from .draws import fixed_reason
from .indicators import crossings
from .simulate import EngineName, run, run_batch

# Mixed into the entropy of the parameter draws ("vary" in ASCII), so they never share a stream with a run.
VARY_TAG = 0x76617279

__all__ = ["check_vary", "config_field", "draw_vary", "summarise_crossings", "sweep"]

#: Label of the ``scenario`` dim when no ``scenarios`` are given.
BASE_SCENARIO = "base"

#: Attributes every run of one sweep must share: they define the time axis and how crossings are read.
_SHARED_ATTRS = ("start_date", "population_total", "threshold_set", "levels")

VarySpec = tuple[float, float] | Sequence[Any]


def _run_one(config: Config, engine: str, seed: np.random.SeedSequence) -> xr.Dataset:
    """One run of a sweep (top level, so process and Dask executors can pickle it)."""
    return run(config, engine=engine, seed=seed, progress=False)


def config_field(key: str) -> Any:
    """Return the pydantic FieldInfo at a dotted key of Config (None if the path leaves the schema)."""
    model: Any = Config
    info = None
    for part in key.split("."):
        if part.isdigit():
            continue
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return None
        info = fields[part]
        model = _model_in(info.annotation)
    return info


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool)


def check_vary(base: Config, vary: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    """Normalise ``vary`` to ``{key: ("range", (low, high)) | ("choice", [values])}`` and validate it."""
    out: dict[str, tuple[str, Any]] = {}
    for key, spec in vary.items():
        where = f"vary[{key!r}]"
        if isinstance(spec, tuple):
            if len(spec) != 2 or not all(_is_number(x) for x in spec) or not spec[0] <= spec[1]:
                raise ConfigError(
                    [
                        f"{where}: a range must be (low, high) numbers with low <= high "
                        f"(got {spec!r}); give a list to sample from listed values"
                    ]
                )
            kind, values = "range", (spec[0], spec[1])
            probes = list(values)
        elif isinstance(spec, Sequence) and not isinstance(spec, str) and len(spec) > 0:
            kind, values = "choice", list(spec)
            probes = values
        else:
            raise ConfigError([f"{where}: expected a (low, high) tuple or a non-empty list of values (got {spec!r})"])
        for value in probes:  # unknown keys and out-of-range values fail here, naming the field
            apply_overrides(base, {key: _plain(value)}, where)
        out[key] = (kind, values)
    return out


def _plain(x: Any) -> Any:
    """Return numpy scalars as Python numbers (for pydantic and JSON)."""
    return x.item() if isinstance(x, np.generic) else x


def draw_vary(spec: dict[str, tuple[str, Any]], seq: np.random.SeedSequence) -> dict[str, Any]:
    """Draw one replicate's values of a :func:`check_vary` spec from ``seq``.

    Ranges are uniform (whole-number ranges inclusive); listed values are equally likely.
    """
    rng = np.random.default_rng(seq)
    out = {}
    for key, (kind, values) in spec.items():
        if kind == "choice":
            out[key] = _plain(values[int(rng.integers(len(values)))])
        elif all(isinstance(v, int | np.integer) for v in values):  # integer field: inclusive range
            out[key] = int(rng.integers(values[0], values[1], endpoint=True))
        else:
            out[key] = float(rng.uniform(values[0], values[1]))
    return out


def _sampled_name(key: str) -> str:
    return "sampled_" + re.sub(r"\W", "_", key)


def _sampled_vars(spec: Mapping[str, Any], draws: list[dict[str, Any]]) -> dict[str, xr.DataArray]:
    out = {}
    for key in spec:
        values = [d[key] for d in draws]
        info = config_field(key)
        extra = info.json_schema_extra if info is not None and isinstance(info.json_schema_extra, dict) else {}
        description = (info.description or key) if info is not None else key
        attrs = {
            "units": extra.get("units", "1"),
            "long_name": f"sampled {key}: {description}",
            "parameter": key,
        }
        data = (
            np.asarray(values, dtype=float)
            if all(_is_number(v) for v in values)
            else np.asarray([str(v) for v in values])
        )
        out[_sampled_name(key)] = xr.DataArray(data, dims="replicate", attrs=attrs)
    return out


def _check_shared(runs: Mapping[tuple[str, int], xr.Dataset]) -> None:
    first_key, first = next(iter(runs.items()))
    for key, ds in runs.items():
        for attr in _SHARED_ATTRS:
            if ds.attrs.get(attr) != first.attrs.get(attr):
                raise ValueError(
                    f"scenario {key[0]!r} replicate {key[1]} has another {attr!r} than scenario "
                    f"{first_key[0]!r} replicate {first_key[1]}; runs stacked in one sweep must share "
                    f"{', '.join(_SHARED_ATTRS)} (run such what-ifs as separate sweeps)"
                )


_CONCAT = {
    "data_vars": "all",
    "coords": "minimal",
    "compat": "equals",
    "join": "exact",
    "combine_attrs": "drop_conflicts",
}


def sweep(
    config: Config | str | Path,
    *,
    scenarios: Mapping[str, Mapping[str, Any]] | None = None,
    vary: Mapping[str, VarySpec] | None = None,
    replicates: int = 1,
    engine: EngineName = "seir",
    seed: int | np.random.SeedSequence = 0,
    executor: Executor | None = None,
    progress: bool = False,
) -> xr.Dataset:
    """Run what-ifs x replicates (with sampled parameters) and stack the results in one Dataset.

    Parameters
    ----------
    config : Config or path
        The base what-if (a validated config, or a TOML file to load).
    scenarios : mapping of str to mapping, optional
        Named what-ifs, each a dict of dotted-key overrides applied on ``config``, e.g.
        ``{"baseline": {}, "escape 0.8": {"variants.new.immune_escape": 0.8}}``. The names label the
        ``scenario`` dim, in the order given. Default: one scenario, ``"base"`` (the config as it is).
    vary : mapping of str to (low, high) or list, optional
        Uncertain parameters, by dotted key. A tuple ``(low, high)`` draws uniformly in that range
        (integers in ``low..high`` inclusive when both bounds are ints); a list draws one of its values
        with equal probability. Replicate ``k`` draws one value per key and uses it in every scenario. A key
        may not also be set by a scenario.
    replicates : int
        Replicates per scenario, at least 1. With the deterministic ``"seir"`` engine and no ``vary``,
        replicates are identical (allowed, but only useful to check a set-up).
    engine : {"seir", "abm"}
        Transmission engine of every run.
    seed : int or SeedSequence
        Root of all randomness: replicate ``k`` runs with ``SeedSequence(seed).spawn(replicates)[k]`` in
        every scenario (common random numbers) and draws its ``vary`` values from
        ``SeedSequence([entropy, VARY_TAG], spawn_key=(k,))``. The same arguments give the same Dataset.
    executor : concurrent.futures.Executor, optional
        Where to run: None runs serially in this process; otherwise one task per (scenario, replicate) is
        submitted, e.g. ``ProcessPoolExecutor(4)`` or, on a Dask cluster, ``client.get_executor()`` (Dask is
        not a dependency of this package). Results are collected in order, so any executor gives the same
        Dataset as serial.
    progress : bool
        Show a progress bar (tqdm) over runs.

    Returns
    -------
    xarray.Dataset
        Every variable of :func:`scenarios.run` with dims ``(scenario, replicate, time, ...)``, always both
        ensemble dims (``scenario = ["base"]`` without ``scenarios``; ``replicate = 0 .. replicates-1``).
        Coordinates along ``scenario``: ``scenario_overrides`` (JSON) and ``scenario_config_sha256``. With
        ``vary``, one variable per key along ``replicate``, ``sampled_<key with dots as _>`` (e.g.
        ``sampled_variants_new_immune_escape``), with the field's ``units`` and a ``long_name``. Attributes:
        the base config's provenance (``config_path``, ``config_text``, ``overrides``, ``config_json``,
        ``config_sha256``), ``engine``, ``seed`` (root entropy), ``replicates``, ``sweep`` (the sweep
        specification as JSON), and the run attributes common to all runs (threshold set, area...).
        Write it with :func:`scenarios.results.write_netcdf`.

    Raises
    ------
    ConfigError
        A scenario override or ``vary`` key that is unknown or out of range (naming the scenario or the
        ``vary`` key and the field), a malformed ``vary`` spec, or a key both varied and set by a scenario.
    ValueError
        ``replicates < 1``, an unknown engine, or scenarios that change the time axis, the population or
        the threshold set (run those as separate sweeps).

    Examples
    --------
    >>> import scenarios
    >>> ds = scenarios.sweep("configs/homogeneous_r0_2.5.toml",
    ...                      scenarios={"R0 2.5": {}, "R0 1.5": {"variants.resident.r0": 1.5}},
    ...                      vary={"disease.infectious_days": (4.0, 6.0)}, replicates=3, seed=1)
    >>> dict(ds.sizes)["scenario"], dict(ds.sizes)["replicate"], ds.new_infections.dims[:3]
    (2, 3, ('scenario', 'replicate', 'time'))
    >>> bool(((ds.sampled_disease_infectious_days >= 4) & (ds.sampled_disease_infectious_days <= 6)).all())
    True
    >>> attack = ds.new_infections.sum(["time", "age_group"]) / ds.attrs["population_total"]
    >>> bool((attack.sel(scenario="R0 1.5") < attack.sel(scenario="R0 2.5")).all())
    True
    """
    if not isinstance(replicates, int | np.integer) or isinstance(replicates, bool) or replicates < 1:
        raise ValueError(f"replicates must be an integer >= 1 (got {replicates!r})")
    if engine not in ("seir", "abm"):
        raise ValueError(f"unknown engine {engine!r}; allowed: 'seir', 'abm'")
    base = config if isinstance(config, Config) else load_config(config)
    if scenarios is not None and len(scenarios) == 0:
        raise ConfigError(["scenarios: empty mapping; give at least one name -> overrides, or None"])
    scenarios = {BASE_SCENARIO: {}} if scenarios is None else dict(scenarios)
    for name in scenarios:
        if not isinstance(name, str) or not name:
            raise ConfigError([f"scenarios: names must be non-empty text (got {name!r})"])
    configs = {
        name: apply_overrides(base, over, f"scenarios[{name!r}]") if over else base for name, over in scenarios.items()
    }
    spec = check_vary(base, vary or {})
    for name, over in scenarios.items():
        clash = dotted_keys(over) & set(spec)
        if clash:
            raise ConfigError(
                [
                    f"scenarios[{name!r}]: {k}: also in vary; a key is either varied or set by a scenario"
                    for k in sorted(clash)
                ]
            )

    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    children = [
        np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, k), pool_size=root.pool_size)
        for k in range(replicates)
    ]
    draws = [
        draw_vary(
            spec,
            np.random.SeedSequence([root.entropy, VARY_TAG], spawn_key=(*root.spawn_key, k), pool_size=root.pool_size),
        )
        for k in range(replicates)
    ]
    results: dict[tuple[str, int], xr.Dataset] = {}
    # The compartmental engine is deterministic: a scenario's replicates differ only by their draws, so
    # they run as one batch, unless a key cannot vary within a batch or an executor is asked for.
    batched = engine == "seir" and executor is None and spec and all(fixed_reason(k, base) is None for k in spec)
    tasks = {}
    for name, cfg in configs.items():
        if batched:
            stacked = run_batch(cfg, {key: [d[key] for d in draws] for key in spec}, dim="replicate", progress=progress)
            del stacked.attrs["batch_draws"]  # the sweep records its draws itself (sampled_* variables)
            results.update({(name, k): stacked.isel(replicate=k, drop=True) for k in range(replicates)})
            continue
        for k in range(replicates):
            run_cfg = apply_overrides(cfg, draws[k], f"vary (replicate {k})") if spec else cfg
            tasks[(name, k)] = (run_cfg, engine, children[k])

    bar = tqdm(total=len(tasks), disable=not progress or not tasks, desc="sweep", unit="run")
    if executor is None:
        for key, args in tasks.items():
            results[key] = _run_one(*args)
            bar.update()
    else:
        futures = {key: executor.submit(_run_one, *args) for key, args in tasks.items()}
        for key, fut in futures.items():
            results[key] = fut.result()
            bar.update()
    bar.close()
    _check_shared(results)

    reps = pd.Index(range(replicates), name="replicate")
    blocks = [xr.concat([results[(name, k)] for k in range(replicates)], dim=reps, **_CONCAT) for name in configs]
    ds = xr.concat(blocks, dim=pd.Index(list(configs), name="scenario"), **_CONCAT)
    ds = ds.transpose("scenario", "replicate", ...)
    ds = ds.assign_coords(
        scenario_overrides=(
            "scenario",
            [json.dumps(scenarios[n], default=str, ensure_ascii=False) for n in configs],
            {"long_name": "overrides of the scenario"},
        ),
        scenario_config_sha256=(
            "scenario",
            [c.sha256() for c in configs.values()],
            {"long_name": "SHA-256 of the scenario's resolved config (before vary)"},
        ),
    )
    ds["scenario"].attrs["long_name"] = "what-if"
    ds["replicate"].attrs["long_name"] = "replicate"
    for name, var in _sampled_vars(spec, draws).items():
        ds[name] = var
    prov = base.provenance
    sweep_spec = {
        "scenarios": scenarios,
        "vary": {k: {"kind": kind, "values": list(v)} for k, (kind, v) in spec.items()},
        "replicates": replicates,
        "engine": engine,
        "seed_entropy": str(root.entropy),
        "seed_spawn_key": list(root.spawn_key),
        "replicate_seed": "SeedSequence(seed_entropy, spawn_key=(*seed_spawn_key, k))",
        "vary_seed": f"SeedSequence([seed_entropy, {VARY_TAG}], spawn_key=(*seed_spawn_key, k)), uniform draws",
    }
    ds.attrs.update(
        {
            "title": f"scenarios sweep: {base.scenario.name}",
            "scenario_name": base.scenario.name,
            "engine": engine,
            "seed": str(root.entropy),
            "replicates": replicates,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "config_path": prov.get("config_path", ""),
            "config_text": prov.get("config_text", ""),
            "overrides": prov.get("overrides", "{}"),
            "config_json": base.model_dump_json(),
            "config_sha256": base.sha256(),
            "sweep": json.dumps(sweep_spec, default=str, ensure_ascii=False),
        }
    )
    return ds


def _qname(q: float) -> str:
    return f"q{100 * q:g}".replace(".", "_")


def summarise_crossings(ds: xr.Dataset, quantiles: Sequence[float] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
    """When the plan's thresholds are crossed across replicates: share crossed and date quantiles.

    Built on :func:`scenarios.crossings` (one table per scenario and replicate), so criteria, activation,
    levels and overflow are read exactly as for a single run.

    Parameters
    ----------
    ds : xarray.Dataset
        Results of :func:`sweep` (or any results with a ``replicate`` and/or ``scenario`` dim; a single
        run counts as one replicate).
    quantiles : sequence of float
        Probabilities in [0, 1] for the quantile columns.

    Returns
    -------
    pandas.DataFrame
        One row per scenario (column ``scenario`` when ``ds`` has that dim) and row of the crossings table
        (``kind``, ``criterion``, ``indicator``, ``operator``, ``threshold``, ``unit``), in their order, with:

        - ``replicates``: runs summarised; ``crossed``: runs in which it is crossed within the horizon;
          ``share_crossed = crossed / replicates``.
        - ``first_day_qP`` and ``first_date_qP`` (e.g. ``q5``, ``q50``, ``q95``): empirical quantiles
          (inverted CDF, no interpolation: each is the first day of some replicate) of the first day it is
          met, counting a run in which it is never met as crossing *after the horizon*. So ``q5`` is the
          date by which 5% of the runs have crossed; a quantile beyond the share crossed is ``<NA>``/NaT
          (not reached within the horizon).
        - ``lead_replicates`` and ``lead_days_qP``: among runs with both a first date and overflow, the
          days from the first date to the first day of overflow (negative when overflow comes first);
          ``<NA>`` when no run has both.

    Examples
    --------
    >>> import scenarios
    >>> cfg = scenarios.load_config("configs/phong_tho_new_variant.toml",
    ...                             overrides={"scenario.horizon_days": 60})
    >>> ds = scenarios.sweep(cfg, engine="abm", replicates=2, seed=3)
    >>> table = summarise_crossings(ds)
    >>> list(table.columns[:4])
    ['scenario', 'kind', 'criterion', 'indicator']
    >>> bool(table["share_crossed"].between(0, 1).all())
    True
    """
    qs = [float(q) for q in quantiles]
    if not all(0.0 <= q <= 1.0 for q in qs):
        raise ValueError(f"quantiles must lie in [0, 1] (got {list(quantiles)!r})")
    table = crossings(ds)
    time = ds["time"].values
    keys = [c for c in ("scenario",) if c in table.columns]
    rule = ["kind", "criterion", "indicator", "operator", "threshold", "unit"]
    rows = []
    for _, block in table.groupby(keys + ["criterion"], sort=False):
        first = block.iloc[0]
        days = block["first_day"].astype("Float64").to_numpy(dtype=float, na_value=np.inf)
        lead = block["lead_days"].dropna().to_numpy(dtype=float)
        row: dict[str, Any] = {k: first[k] for k in keys + rule}
        row.update(replicates=len(block), crossed=int(np.isfinite(days).sum()))
        row["share_crossed"] = row["crossed"] / row["replicates"]
        for q in qs:
            v = np.quantile(days, q, method="inverted_cdf")
            row[f"first_day_{_qname(q)}"] = int(v) if np.isfinite(v) else pd.NA
            row[f"first_date_{_qname(q)}"] = pd.Timestamp(time[int(v)]) if np.isfinite(v) else pd.NaT
        row["lead_replicates"] = len(lead)
        for q in qs:
            row[f"lead_days_{_qname(q)}"] = int(np.quantile(lead, q, method="inverted_cdf")) if len(lead) else pd.NA
        rows.append(row)
    out = pd.DataFrame(rows)
    for col in out.columns:
        if col.startswith(("first_day_", "lead_days_")):
            out[col] = out[col].astype("Int64")
        elif col.startswith("first_date_"):
            out[col] = pd.to_datetime(out[col])
    return out
