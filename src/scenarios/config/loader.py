"""Reading what-if files: ``extends`` chains, overrides, and one clear message per problem."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pydantic
import tomli_w
from pydantic import BaseModel

from .root import Config

__all__ = [
    "ConfigError",
    "OUTSIDE",
    "apply_overrides",
    "dotted_keys",
    "inside",
    "load_config",
    "parse_set",
    "to_toml",
]


# No config key is deeper than a few levels, and no what-if needs a long chain of bases: beyond these the
# input is a mistake (or hostile), refused before it can exhaust the stack.
MAX_DEPTH = 12
MAX_EXTENDS = 32
# Files a config names (extends, a threshold-set file) are read from its own folder tree only, so a config
# cannot pull (and embed in its results) a file from anywhere on the machine.
OUTSIDE = "files are read from the config's folder and its subfolders only (allow another with --allow-dir DIR)"


class ConfigError(Exception):
    """A config that cannot be used; ``problems`` holds one line per problem, each naming file and field."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def inside(path: Path, roots: Sequence[Path]) -> bool:
    """Whether ``path`` (resolved) lies in one of the folder trees ``roots``."""
    return any(path.is_relative_to(r) for r in roots)


def _read(
    path: Path, chain: tuple[Path, ...], roots: Sequence[Path] = ()
) -> tuple[dict[str, Any], dict[str, Path], list[tuple[Path, str]]]:
    """Read ``path`` and its ``extends`` ancestors; return merged data, the file of each leaf, and texts."""
    if path in chain:
        cycle = " -> ".join(str(p) for p in (*chain, path))
        raise ConfigError([f"{chain[-1]}: extends: cycle in 'extends': {cycle}"])
    where = f"{chain[-1]}: extends" if chain else "config"
    if len(chain) >= MAX_EXTENDS:
        raise ConfigError([f"{where}: more than {MAX_EXTENDS} files in the 'extends' chain"])
    try:
        if not path.is_file():
            raise ConfigError([f"{path}: file not found ({where})"])
        text = path.read_text(encoding="utf-8-sig")  # a BOM (some Windows editors write one) is not TOML
        data = tomllib.loads(text)
    except UnicodeDecodeError as e:
        raise ConfigError([f"{path}: not UTF-8 text ({e.reason})"]) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([f"{path}: malformed TOML: {e}"]) from None
    except RecursionError:
        raise ConfigError([f"{path}: malformed TOML: tables nested too deeply"]) from None
    except (OSError, ValueError) as e:  # symlink loops, NUL bytes, permissions
        raise ConfigError([f"{path!s}: cannot be read ({where}): {getattr(e, 'strerror', None) or e}"]) from None
    if _depth(data) > MAX_DEPTH:
        raise ConfigError([f"{path}: tables nested more than {MAX_DEPTH} deep; no config key is that deep"])
    parent = data.pop("extends", None)
    origin = {key: path for key in _leaves(data)}
    if parent is None:
        return data, origin, [(path, text)]
    if not isinstance(parent, str):
        raise ConfigError([f"{path}: extends: must be a file name (string), got {parent!r}"])
    try:
        target = (path.parent / parent).resolve()
    except (OSError, ValueError, RuntimeError) as e:
        raise ConfigError([f"{path}: extends: cannot follow {parent!r}: {e}"]) from None
    if target.suffix != ".toml":
        raise ConfigError([f"{path}: extends: {parent!r} is not a config file (a .toml file)"])
    if not inside(target, roots):
        raise ConfigError([f"{path}: extends: {parent!r} lies outside {roots[0]}; {OUTSIDE}"])
    base, base_origin, texts = _read(target, (*chain, path), roots)
    return _merge(base, data, str(path)), base_origin | origin, [*texts, (path, text)]


def _depth(data: Any) -> int:
    """Nesting depth of tables and arrays (iterative: deep input must not exhaust the stack)."""
    deepest, stack = 0, [(data, 0)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        children = node.values() if isinstance(node, Mapping) else node if isinstance(node, list) else ()
        stack += [(c, d + 1) for c in children if isinstance(c, Mapping | list)]
    return deepest


def _leaves(data: Mapping[str, Any], prefix: tuple = ()) -> list[tuple]:
    out: list[tuple] = []
    for k, v in data.items():
        if isinstance(v, Mapping) and v:
            out += _leaves(v, (*prefix, k))
        else:
            out.append((*prefix, k))
    return out


def _merge(base: Mapping[str, Any], top: Mapping[str, Any], where: str = "overrides") -> dict[str, Any]:
    """Deep-merge tables; anything else (numbers, lists, arrays of tables) in ``top`` replaces ``base``.

    A table with whole-number keys merged onto an array of tables edits its items (``policies.0.delay_days``).
    """
    out = dict(base)
    for k, v in top.items():
        old = out.get(k)
        if isinstance(v, Mapping) and isinstance(old, Mapping):
            out[k] = _merge(old, v, where)
        elif isinstance(v, Mapping) and isinstance(old, list | tuple) and v and all(str(i).isdigit() for i in v):
            missing = [i for i in v if not _index(i, old)]
            if missing:
                raise ConfigError([f"{where}: {k}.{missing[0]}: no such item ({k} has {len(old)}, numbered from 0)"])
            items = list(old)
            for i, item in v.items():
                j = int(i)
                items[j] = (
                    _merge(items[j], item) if isinstance(item, Mapping) and isinstance(items[j], Mapping) else item
                )
            out[k] = items
        else:
            out[k] = v
    return out


def _index(key: Any, items: list | tuple) -> bool:
    """Whether ``key`` is a whole number indexing ``items`` (as ``--set policies.0.delay_days=3`` writes)."""
    return isinstance(key, str) and key.isdigit() and int(key) < len(items)


def _nest(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Turn ``{"a.b": 1}`` (or already nested dicts) into ``{"a": {"b": 1}}``."""
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        if key.count(".") >= MAX_DEPTH:
            raise ConfigError([f"{key[:60]}...: more than {MAX_DEPTH} dotted parts; no config key is that deep"])
        *parents, last = key.split(".")
        node = out
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = _nest(value) if isinstance(value, Mapping) else value
    return out


def to_toml(config: Config, header: Sequence[str] = ()) -> str:
    """Write a config as a stand-alone TOML file that :func:`load_config` reads back as the same config (same hash).

    Only the values that were set are written (defaults stay defaults); ``header`` lines become ``#``
    comments at the top (where the file came from, how to use it).

    Examples
    --------
    >>> cfg = load_config("configs/homogeneous_r0_2.5.toml")
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d, "c.toml")
    ...     _ = p.write_text(to_toml(cfg, ["a copy"]), encoding="utf-8")
    ...     load_config(p).sha256() == cfg.sha256()
    True
    """
    data = _plain(config.model_dump(exclude_unset=True, mode="python"))
    head = "".join(f"# {line}\n" for line in header)
    return head + ("\n" if head else "") + tomli_w.dumps(data)


def _plain(value: Any) -> Any:
    """Turn a config dump into what TOML holds: tuples as lists, ``None`` left out."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def parse_set(items: list[str]) -> dict[str, Any]:
    """Parse CLI ``--set key.sub=value`` items; values are TOML (numbers, dates, lists, true), else text."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError([f"--set {item!r}: expected KEY=VALUE, e.g. variants.new.immune_escape=0.5"])
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        out[key.strip()] = value
    return out


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """Return the model class that owns the field at ``loc`` (through tuples and optionals)."""
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        nested = _submodel(field.annotation)
        if nested is None:
            return model
        model = nested
    return model


def _submodel(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _submodel(arg)
        if found is not None:
            return found
    return None


def _describe(err: Mapping[str, Any], origin: Mapping[tuple, Path], top: str) -> str:
    loc = tuple(err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    head, sep, rest = msg.partition(": ")
    if not loc and sep and "." in head and " " not in head:
        # A check across sections names its field first ("variants.new.imported_per_day: ..."): blame its file.
        loc, msg = tuple(head.split(".")), rest
    field = ".".join(str(p) for p in loc) or "(top level)"
    source = _source(tuple(str(p) for p in loc), msg, origin) or top
    if err["type"] == "extra_forbidden":
        owner = _model_at(Config, loc[:-1])
        allowed = ", ".join(owner.model_fields) if owner else "?"
        msg = f"unknown key; allowed here: {allowed}"
    elif err["type"] == "missing":
        msg = "required field is missing"
    elif "input" in err and not isinstance(err["input"], Mapping) and "got " not in msg:
        msg += f" (got {err['input']!r})"
    return f"{source}: {field}: {msg}"


def _source(loc: tuple[str, ...], msg: str, origin: Mapping[tuple, Path | str]) -> Path | str | None:
    """Return the file (or ``--set``) that wrote the value at ``loc``.

    The value itself, else the closest enclosing key that was written whole (an array of tables), else, for a
    check on a whole table, the file that wrote a key the message names (or the last file that wrote any).
    """
    for i in range(len(loc), 0, -1):
        if loc[:i] in origin:
            return origin[loc[:i]]
    keys = [k for k in origin if k[: len(loc)] == loc and len(k) > len(loc)]
    named = [k for k in keys if k[len(loc)] in msg]
    return origin[(named or keys)[-1]] if keys else None


def _validate(data: Mapping[str, Any], origin: Mapping[tuple, Path | str], top: str) -> Config:
    try:
        return Config.model_validate(data)
    except pydantic.ValidationError as e:
        errors = e.errors()
    # A bad item of a fixed-length list also fails the length check (it was dropped): report the item only.
    inner = [tuple(err["loc"]) for err in errors]
    errors = [
        err
        for err in errors
        if not (
            err["type"] in ("too_short", "too_long")
            and any(len(x) > len(err["loc"]) and x[: len(err["loc"])] == tuple(err["loc"]) for x in inner)
        )
    ]
    raise ConfigError([_describe(err, origin, top) for err in errors]) from None


def dotted_keys(overrides: Mapping[str, Any]) -> set[str]:
    """Return the dotted keys that ``overrides`` (dotted or nested) sets, e.g. ``{"variants.new.immune_escape"}``."""
    return {".".join(k) for k in _leaves(_nest(overrides))}


def apply_overrides(config: Config, overrides: Mapping[str, Any], where: str = "overrides") -> Config:
    """Return a new validated config with ``overrides`` applied on top of ``config``.

    Parameters
    ----------
    config : Config
        The config to start from; its provenance is kept.
    overrides : mapping
        Dotted keys or nested tables, as for :func:`load_config`.
    where : str
        Names the overrides in error messages (e.g. ``--set`` or ``scenarios['escape 0.8']``).

    Raises
    ------
    ConfigError
        One line per problem, naming ``where`` and the field.
    """
    nested = _nest(overrides)
    data = _merge(config.model_dump(exclude_unset=True), nested, where)
    new = _validate(data, {key: where for key in _leaves(nested)}, config.provenance.get("config_path") or "config")
    prov = config.provenance
    earlier = json.loads(prov.get("overrides") or "{}")
    new._provenance = {
        **prov,
        "overrides": json.dumps({**earlier, **dict(overrides)}, default=str, ensure_ascii=False),
    }
    return new


def load_config(
    path: str | Path, overrides: Mapping[str, Any] | None = None, allowed_dirs: Sequence[str | Path] = ()
) -> Config:
    """Read and validate a what-if config file.

    Parameters
    ----------
    path : str or Path
        A TOML file. It may name a base file with ``extends = "base.toml"`` (relative to itself); its
        tables are merged over the base's, key by key.
    overrides : mapping, optional
        Values applied last, as dotted keys (``{"variants.new.immune_escape": 0.5}``) or nested tables.
    allowed_dirs : sequence of paths, optional
        Folders besides the config's own folder tree from which ``extends`` and ``thresholds.set`` may read.

    Returns
    -------
    Config
        The validated, frozen config; ``config.provenance`` holds the texts it was built from.

    Raises
    ------
    ConfigError
        With one line per problem: the file, the field path and what is allowed.
    """
    try:
        path = Path(path).resolve()
    except (OSError, ValueError, RuntimeError) as e:
        raise ConfigError([f"{path!s}: cannot be read: {e}"]) from None
    roots = [path.parent, *(Path(d).resolve() for d in allowed_dirs)]
    data, origin, texts = _read(path, (), roots)
    if overrides:
        nested = _nest(overrides)
        data = _merge(data, nested, "--set")
        origin |= {key: Path("--set") for key in _leaves(nested)}
    config = _validate(data, origin, str(path))
    return config.with_provenance(texts, dict(overrides or {}), path, roots)
