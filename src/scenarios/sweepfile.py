"""Sweep files: what a national or research sweep runs, written as TOML a planner can read.

A sweep file names a base config, the provinces to run it in, named what-ifs, replicates, uncertain
parameters (``vary``) and, optionally, posterior draws from a calibration. :func:`load_sweep` validates all of
it before anything runs, and every problem names the file and the field, like config errors.

Example (see also ``configs/sweeps/new_variant_provinces.toml``)::

    name = "New variant, every province"
    base = "../an_giang_new_variant.toml"   # relative to this file
    provinces = "all"                       # or a list: ["An Giang", "VN01", "Ha Noi"]
    replicates = 20
    engine = "seir"
    seed = 0

    [configs]                               # a province's own config, when it has one (same dates,
    "Cần Thơ" = "can_tho_new_variant.toml"  # variants, criteria and policies as the others)

    [whatifs.baseline]                      # named what-ifs: dotted-key overrides (none = the config as is)
    [whatifs."escape 0.8"]
    "variants.new.immune_escape" = 0.8

    [vary]                                  # one draw per replicate, the same in every province and what-if
    "variants.new.transmissibility_multiplier" = {low = 1.3, high = 1.9}
    "variants.new.severity_multiplier" = {choice = [1.0, 1.5, 2.0]}

    [posterior]                             # replicate k runs with posterior draw k
    path = "posterior.nc"

Posterior draws (the contract with calibration)
-----------------------------------------------
``posterior.path`` is a NetCDF file with a ``draw`` dim (or ``chain`` and ``draw``, taken chain by chain) and
one variable per calibrated parameter, named by its dotted config path (``variants.new.immune_escape``),
each 1-D over the draws. Replicate ``k`` runs with draw ``k`` (so ``replicates`` defaults to the number of
draws and may not exceed it). A draw that the config refuses (out of range) fails its cells only; they are
recorded as failed with the message.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pydantic
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field

from .config import Config, ConfigError, apply_overrides, dotted_keys, find_province, load_config
from .config.provinces import province_candidates, province_names
from .ensemble import VARY_TAG, check_vary, config_field, draw_vary
from .indicators import threshold_set_of

__all__ = ["Sweep", "SweepFile", "load_sweep"]


class _Range(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    low: int | float  # two whole numbers draw whole numbers (as scenarios.sweep)
    high: int | float


class _Choice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    choice: list[Any] = Field(min_length=1)


class Posterior(BaseModel):
    """Where posterior draws are read from (see the module docstring for the file's contract)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    path: str = Field(description="NetCDF of parameter draws, relative to the sweep file.")


class SweepFile(BaseModel):
    """The fields of a sweep file (TOML), as written; :func:`load_sweep` resolves them into a :class:`Sweep`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str | None = Field(None, description="Title of the sweep; default the file name.")
    base: str = Field(description="Config every province runs unless it has its own; relative to the sweep file.")
    configs: dict[str, str] = Field(default_factory=dict, description="Province (code or name) -> its own config.")
    provinces: Literal["all"] | list[str] | None = Field(
        None, description='Provinces to run (codes or names), or "all" of the 34; default the base config\'s area.'
    )
    whatifs: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Named what-ifs: dotted-key overrides; default one, 'base'."
    )
    replicates: int | None = Field(None, ge=1, description="Replicates per province and what-if; default 1.")
    engine: Literal["seir", "abm"] = "seir"
    seed: int = Field(0, ge=0, description="Root of every cell's seed.")
    vary: dict[str, _Range | _Choice] = Field(
        default_factory=dict, description="Uncertain parameters: {low, high} uniform or {choice = [...]}."
    )
    posterior: Posterior | None = None


@dataclass(frozen=True)
class Area:
    """One entry of the ``province`` dim: its label, the integer keying its seeds, and its config."""

    label: str
    seed_key: int
    name: str
    config: Config


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: cells are (province, what-if, replicate).

    ``configs[(p, w)]`` is province ``p`` under what-if ``w`` before the replicate's draws;
    :meth:`draws` gives replicate ``k``'s overrides (``vary`` and posterior) and :meth:`seed` its seed.
    """

    path: Path
    text: str
    name: str
    engine: str
    entropy: int
    replicates: int
    areas: tuple[Area, ...]
    whatifs: dict[str, dict[str, Any]]
    configs: dict[tuple[int, int], Config]
    vary: dict[str, tuple[str, Any]] = field(default_factory=dict)
    posterior: tuple[dict[str, Any], ...] | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        """Cells along (province, what-if, replicate)."""
        return len(self.areas), len(self.whatifs), self.replicates

    def seed(self, p: int, r: int) -> np.random.SeedSequence:
        """Seed of replicate ``r`` in province ``p``: the same in every what-if (common random numbers).

        ``SeedSequence(entropy, spawn_key=(province seed key, r))``: it depends on the cell only, never on
        the order cells run in or on how many are run.
        """
        return np.random.SeedSequence(self.entropy, spawn_key=(self.areas[p].seed_key, r))

    def draws(self, r: int) -> dict[str, Any]:
        """Return the overrides of replicate ``r``: its ``vary`` draw (as :func:`scenarios.sweep`) and posterior."""
        seq = np.random.SeedSequence([self.entropy, VARY_TAG], spawn_key=(r,))
        out = draw_vary(self.vary, seq) if self.vary else {}
        if self.posterior is not None:
            out.update(self.posterior[r])
        return out

    def fingerprint(self) -> str:
        """SHA-256 of everything that decides the cells' results (a store is resumed only by the same sweep)."""
        h = hashlib.sha256()
        head = [self.engine, self.entropy, self.replicates, [a.label for a in self.areas], list(self.whatifs)]
        h.update(json.dumps(head).encode())
        for key in sorted(self.configs):
            h.update(self.configs[key].model_dump_json().encode())
        for r in range(self.replicates):
            h.update(json.dumps(self.draws(r), sort_keys=True, default=str).encode())
        return h.hexdigest()


def _labels(config: Config) -> dict[str, Any]:
    """Return what gives a run its dims and labels (every cell of one store must share it)."""
    variants = [config.variants.resident, *([config.variants.new] if config.variants.new else [])]
    return {
        "dates": f"{config.scenario.start_date}, {config.scenario.horizon_days} days",
        "variants": [getattr(v, "name", None) for v in variants],
        "criteria": [
            (c.name, c.indicator, c.operator, c.value, c.sustained_days) for c in threshold_set_of(config).criteria
        ],
        "policies": [(p.name, p.action, p.trigger, p.delay_days) for p in config.policies],
    }


def _errors(path: Path, e: pydantic.ValidationError) -> ConfigError:
    lines = []
    for err in e.errors():
        loc = ".".join(str(p) for p in err["loc"] if p not in ("_Range", "_Choice")) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key; allowed: " + ", ".join(SweepFile.model_fields)
            if loc.startswith("vary."):
                msg = "unknown key; give {low = ..., high = ...} or {choice = [...]}"
        elif err["type"] == "missing":
            msg = "required field is missing"
        elif "input" in err and not isinstance(err["input"], Mapping):
            msg += f" (got {err['input']!r})"
        lines.append(f"{path}: {loc}: {msg}")
    return ConfigError(sorted(set(lines), key=lines.index))


def _flat_vary(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Unquoted TOML keys (a.b.c = {...}) nest tables; flatten them down to the {low, high}/{choice} specs."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and not set(value) & {"low", "high", "choice"}:
            out.update(_flat_vary(value, name + "."))
        else:
            out[name] = value
    return out


def _area(path: Path, where: str, key: str) -> Any:
    province = find_province(key)
    if province is None:
        near = province_candidates(key)
        allowed = f"did you mean {', '.join(near)}?" if near else "allowed: a code VN01..VN96 or one of "
        allowed += "" if near else ", ".join(province_names())
        raise ConfigError([f"{path}: {where}: unknown province {key!r}; {allowed}"])
    return province


def _load_config(path: Path, where: str, name: str) -> Config:
    target = (path.parent / name).resolve()
    if not target.is_file():
        raise ConfigError([f"{path}: {where}: config file not found: {target}"])
    return load_config(target)  # its own problems name its own file and field


def _posterior(path: Path, spec: Posterior, replicates: int | None) -> tuple[dict[str, Any], ...]:
    target = (path.parent / spec.path).resolve()
    where = f"{path}: posterior.path"
    if not target.is_file():
        raise ConfigError([f"{where}: file not found: {target}"])
    try:
        with xr.open_dataset(target, engine="scipy") as ds:
            ds = ds.load()
    except (OSError, ValueError, TypeError) as e:
        raise ConfigError([f"{where}: not a NetCDF file the scipy engine reads ({e})"]) from None
    if "chain" in ds.dims:
        ds = ds.stack(sample=("chain", "draw")).swap_dims(sample="draw") if "draw" in ds.dims else ds
    if "draw" not in ds.dims:
        raise ConfigError(
            [f"{where}: {target.name} has no 'draw' dim (dims: {', '.join(map(str, ds.dims)) or 'none'})"]
        )
    problems = []
    for name, var in ds.data_vars.items():
        if var.dims != ("draw",):
            problems.append(f"{where}: variable {name!r}: dims {var.dims}; expected ('draw',)")
        elif config_field(str(name)) is None:
            problems.append(f"{where}: variable {name!r} is not a config field (dotted path, e.g. variants.new.r0)")
    if not ds.data_vars:
        problems.append(f"{where}: {target.name} has no variables; expected one per parameter, named by config path")
    if problems:
        raise ConfigError(problems)
    n = ds.sizes["draw"]
    if replicates is not None and replicates > n:
        raise ConfigError(
            [f"{path}: replicates: {replicates} but the posterior has {n} draws (replicate k uses draw k)"]
        )
    values = {str(k): v.values for k, v in ds.data_vars.items()}
    return tuple({k: v[i].item() for k, v in values.items()} for i in range(n if replicates is None else replicates))


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file.

    Parameters
    ----------
    path : str or Path
        The sweep file (TOML); see the module docstring for its fields.

    Returns
    -------
    Sweep
        Provinces, what-ifs and replicates resolved, every config validated.

    Raises
    ------
    ConfigError
        One line per problem, each naming the file and the field (an unknown province, a what-if key the
        config does not have, a ``vary`` spec out of range, a missing config or posterior file...).

    Examples
    --------
    >>> s = load_sweep("configs/sweeps/new_variant_provinces.toml")
    >>> s.shape, [a.label for a in s.areas][:2], list(s.whatifs)
    ((5, 2, 10), ['VN91', 'VN01'], ['baseline', 'escape 0.8'])
    >>> s.draws(0) == s.draws(0), 1.3 <= s.draws(0)["variants.new.transmissibility_multiplier"] <= 1.9
    (True, True)
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise ConfigError([f"{path}: sweep file not found"])
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as e:
        raise ConfigError([f"{path}: not UTF-8 text ({e.reason})"]) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([f"{path}: malformed TOML: {e}"]) from None
    if isinstance(data.get("vary"), Mapping):
        data["vary"] = _flat_vary(data["vary"])
    try:
        spec = SweepFile.model_validate(data)
    except pydantic.ValidationError as e:
        raise _errors(path, e) from None

    base = _load_config(path, "base", spec.base)
    own = {}
    for key, name in spec.configs.items():
        province, cfg = _area(path, f"configs.{key}", key), _load_config(path, f"configs.{key}", name)
        if cfg.population.province is None or find_province(cfg.population.province) != province:
            raise ConfigError(
                [f"{path}: configs.{key}: {name} is for {cfg.population.province or 'another area'}, not {key}"]
            )
        own[province.code] = cfg
    if spec.provinces is None:
        keys = [base.population.province] if base.population.province else []
    elif spec.provinces == "all":
        keys = province_names()
    else:
        keys = spec.provinces
        if not keys:
            raise ConfigError([f'{path}: provinces: empty list; give province names or codes, or "all"'])
    areas = []
    for i, key in enumerate(keys):
        province = _area(path, f"provinces[{i}]", key)
        if province.code in own:
            cfg = own[province.code]
        elif base.population.province and find_province(base.population.province) == province:
            cfg = base
        else:
            if base.population.total is not None:
                raise ConfigError(
                    [
                        f"{path}: base: its population.total is set (a small area); a sweep over other "
                        "provinces needs a province-level base config, or give each province its own under [configs]"
                    ]
                )
            over: dict[str, Any] = {"population.province": province.code}
            if base.population.name is not None:
                over["population.name"] = province.name_vi
            cfg = apply_overrides(base, over, f"{path}: provinces[{i}]")
        areas.append(Area(province.code, int(province.code[2:]), province.name_vi, cfg))
    if len({a.label for a in areas}) != len(areas):
        raise ConfigError([f"{path}: provinces: a province is listed twice"])
    if not areas:  # a small area (population.total only): one entry, named after it
        areas = [Area(base.population.name or "area", 0, base.population.name or "area", base)]

    whatifs = dict(spec.whatifs) or {"base": {}}
    vary = {k: (v.low, v.high) if isinstance(v, _Range) else list(v.choice) for k, v in spec.vary.items()}
    try:
        vary_spec = check_vary(areas[0].config, vary)
    except ConfigError as e:
        raise ConfigError([f"{path}: {line}" for line in e.problems]) from None
    posterior = _posterior(path, spec.posterior, spec.replicates) if spec.posterior else None
    drawn = set(vary_spec) | (set(posterior[0]) if posterior else set())
    if posterior and set(posterior[0]) & set(vary_spec):
        both = ", ".join(sorted(set(posterior[0]) & set(vary_spec)))
        raise ConfigError([f"{path}: vary: {both}: also in the posterior draws; a key comes from one source"])
    configs = {}
    for w, (name, over) in enumerate(whatifs.items()):
        clash = dotted_keys(over) & drawn
        if clash:
            raise ConfigError([f"{path}: whatifs.{name}: {k}: also drawn (vary or posterior)" for k in sorted(clash)])
        for p, area in enumerate(areas):
            configs[(p, w)] = apply_overrides(area.config, over, f"{path}: whatifs.{name}") if over else area.config
    first = _labels(configs[(0, 0)])
    for (p, w), cfg in configs.items():
        name, area = list(whatifs)[w], areas[p]
        for key, value in _labels(cfg).items():
            if value != first[key]:
                where = f"whatifs.{name}" if whatifs[name] else f"configs.{area.label}" if area.label in own else "base"
                raise ConfigError(
                    [
                        f"{path}: {where}: {area.name} under {name!r} has other {key} ({value}) than "
                        f"{areas[0].name} under {list(whatifs)[0]!r} ({first[key]}); the cells of one sweep share "
                        "dates, variants, criteria and policies: run it as a separate sweep"
                    ]
                )
    replicates = spec.replicates or (len(posterior) if posterior else 1)
    return Sweep(
        path=path,
        text=text,
        name=spec.name or path.stem,
        engine=spec.engine,
        entropy=int(np.random.SeedSequence(spec.seed).entropy),
        replicates=replicates,
        areas=tuple(areas),
        whatifs=whatifs,
        configs=configs,
        vary=vary_spec,
        posterior=posterior,
    )
