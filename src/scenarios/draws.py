"""Parameter draws for batched runs: one config per draw, validated section by section.

:func:`member_configs` turns ``{dotted key: K values}`` into K configs, each what
``apply_overrides(config, {key: values[i]})`` gives, without a full validation per draw: the root
:class:`~scenarios.config.Config` has no cross-section validators, so re-validating only the sections a key
touches (``variants``, ``reporting``, ``interventions``...) checks exactly the same rules, and the rest of
the config is shared. Keys may go through list items by index (``interventions.0.work``,
``policies.3.delay_days``).

Some keys cannot vary inside one batch because the runs would no longer share a time axis, a population,
a state layout or a threshold set (:data:`FIXED`); they raise a ``ValueError`` naming the key.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pydantic

from .config import Config, ConfigError

__all__ = ["FIXED", "fixed_reason", "member_configs"]

#: Dotted-key patterns that cannot differ between the members of a batch (``*`` = any list index), and why.
FIXED: dict[str, str] = {
    "scenario": "dates and horizon define the shared time axis",
    "population": "members share one population and contact matrices",
    "thresholds": "members share one threshold set",
    "levels": "members share one level table",
    "abm": "batches run the compartmental engine only",
    "disease.latent_stages": "the number of stages sets the state layout",
    "disease.infectious_stages": "the number of stages sets the state layout",
    "variants.new": "a new variant present in some members only changes the state layout",
    "interventions.*.start_date": "intervention dates are shared",
    "interventions.*.end_date": "intervention dates are shared",
    "interventions.*.name": "labels are shared",
    "policies.*.name": "labels are shared (the policy coordinate)",
    "policies.*.trigger": "triggers are shared",
    "policies.*.trigger_level": "triggers are shared",
    "policies.*.action": "actions are shared",
    "policies.*.step": "surge steps are shared",
    "policies.*.delay_days": "delays label the shared policy coordinate",
    "capacity.surge.*.name": "surge step names are shared",
}


def fixed_reason(key: str, base: Config) -> str | None:
    """Why ``key`` cannot vary within a batch, or None (a key above a fixed one, e.g. a whole list, is fixed)."""
    return _fixed_reason(key, base.variants.new is not None)


@functools.cache  # a fit asks about the same few dozen keys at every evaluation
def _fixed_reason(key: str, has_new_variant: bool) -> str | None:
    parts = key.split(".")
    for pattern, why in FIXED.items():
        pat = pattern.split(".")
        n = min(len(parts), len(pat))
        if all(p == h or (p == "*" and h.isdigit()) for p, h in zip(pat[:n], parts[:n], strict=True)):
            if pattern == "variants.new" and has_new_variant and len(parts) > 2:
                continue  # a field of the new variant every member has
            return why
    return None


def _trie(paths: list[tuple[list[str], str]]) -> dict | str:
    """Nest dotted paths by their parts: ``{part: subtree or the key whose value goes there}``."""
    root: dict = {}
    for parts, key in paths:
        if not parts:  # the whole section (alone in its trie: see member_configs)
            return key
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = key
    return root


def _set_all(node: Any, trie: dict | str, values: Mapping[str, Any]) -> Any:
    """Return ``node`` with every value of ``values`` at its place in ``trie`` (see :func:`_trie`).

    Tables and lists on the way are copied once however many keys go through them (a fit's draw sets
    dozens of items of one list); lists are indexed by number.
    """
    if isinstance(trie, str):
        return values[trie]
    if node is None and all(head.isdigit() for head in trie):
        node = ()
    if isinstance(node, list | tuple):
        out = list(node)
        for head, sub in trie.items():
            if not head.isdigit() or int(head) >= len(node):
                raise KeyError(f"{_first(sub)}: no item {head!r} (the list has {len(node)} items)")
            out[int(head)] = _set_all(out[int(head)], sub, values)
        return out
    if node is None:
        node = {}
    if not isinstance(node, Mapping):
        raise KeyError(
            f"{_first(next(iter(trie.values())))}: {next(iter(trie))!r} is below a value that is not a table"
        )
    out = dict(node)
    for head, sub in trie.items():
        out[head] = _set_all(out.get(head), sub, values)
    return out


def _first(trie: dict | str) -> str:
    """Return the first key below a trie node (to name it in an error)."""
    return trie if isinstance(trie, str) else _first(next(iter(trie.values())))


def _validator(section: str) -> pydantic.TypeAdapter:
    return pydantic.TypeAdapter(Config.model_fields[section].annotation)


def member_configs(config: Config, draws: Mapping[str, Any]) -> list[Config]:
    """Return one config per draw: ``config`` with ``{key: values[i]}`` applied, for ``i`` in ``range(K)``.

    Parameters
    ----------
    config : Config
        The base config.
    draws : mapping of str to array-like
        Dotted keys (list items by index) and ``K`` values each (shape ``(K, ...)`` for lists by age).

    Returns
    -------
    list of Config
        ``K`` configs; each keeps ``config``'s provenance with the draw added to its ``overrides``.

    Raises
    ------
    ValueError
        No keys, values of different lengths, or a key in :data:`FIXED`.
    ConfigError
        A draw that fails validation: names the key(s), the draw index and what is allowed.
    """
    if not draws:
        raise ValueError("draws: give at least one key -> K values")
    values = {}
    for key, v in draws.items():
        why = fixed_reason(key, config)
        if why is not None:
            raise ValueError(f"draws[{key!r}]: cannot vary within a batch ({why}); run separate batches")
        arr = np.asarray(v)
        if arr.ndim == 0:
            raise ValueError(f"draws[{key!r}]: expected K values (a sequence), got a scalar {v!r}")
        values[key] = arr
    sizes = {key: len(arr) for key, arr in values.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"draws: every key needs the same number of values; got {sizes}")
    k = next(iter(sizes.values()))
    if k < 1:
        raise ValueError("draws: need at least one draw")
    sections = sorted({key.split(".")[0] for key in values})
    unknown = [s for s in sections if s not in Config.model_fields]
    if unknown:
        raise ConfigError(
            [f"draws[{s!r}]: unknown section; allowed: {', '.join(Config.model_fields)}" for s in unknown]
        )
    dumped = config.model_dump(exclude_unset=True)
    adapters = {s: _validator(s) for s in sections}
    keys = {s: [key for key in values if key.split(".")[0] == s] for s in sections}
    # One trie of every key of a section, so each draw copies a table or list once; a key that sets a whole
    # section is applied in its turn, with every key on its own, as apply_overrides would.
    tries = {
        s: [_trie([(key.split(".")[1:], key)]) for key in keys[s]]
        if s in keys[s]
        else [_trie([(key.split(".")[1:], key) for key in keys[s]])]
        for s in sections
    }
    plain = {key: arr.tolist() for key, arr in values.items()}  # Python numbers, lists for lists by age
    earlier = json.loads(config.provenance.get("overrides") or "{}")
    # The base config's own overrides (a fit's carry its whole list of interventions), encoded once.
    kept = _dumps({key: v for key, v in earlier.items() if key not in values})
    cache: dict[tuple, Any] = {}  # members with the same values of a section share its validated model
    out = []
    for i in range(k):
        draw = {key: v[i] for key, v in plain.items()}
        update = {}
        for s in sections:
            ident = (s, repr([draw[key] for key in keys[s]]))
            if ident not in cache:
                data = dumped.get(s)
                try:
                    for trie in tries[s]:
                        data = _set_all(data, trie, draw)
                    cache[ident] = adapters[s].validate_python(data)
                except (KeyError, pydantic.ValidationError) as e:
                    raise ConfigError([_problem(e, s, sorted(keys[s]), i)]) from None
            update[s] = cache[ident]
        member = config.model_copy(update=update)
        overrides = _overrides(earlier, draw, kept)
        member._provenance = {**config.provenance, "overrides": overrides}
        out.append(member)
    return out


def _dumps(overrides: Mapping[str, Any]) -> str:
    return json.dumps(overrides, default=str, ensure_ascii=False)


def _overrides(earlier: Mapping[str, Any], draw: Mapping[str, Any], kept: str) -> str:
    """Return ``_dumps({**earlier, **draw})``, from ``kept``: the encoded ``earlier`` without the draw's keys."""
    if any(key in earlier for key in draw):  # a key set again keeps its place: encode the whole merge
        return _dumps({**earlier, **draw})
    if kept == "{}" or not draw:
        return _dumps(draw) if kept == "{}" else kept
    return kept[:-1] + ", " + _dumps(draw)[1:]  # the same text: json.dumps joins items with ", "


def _problem(e: Exception, section: str, keys: list[str], index: int) -> str:
    where = f"draws (draw {index}, {', '.join(keys)})"
    if isinstance(e, KeyError):
        return f"{where}: {e.args[0]}"
    lines = []
    for err in e.errors():  # type: ignore[attr-defined]
        loc = ".".join(str(p) for p in (section, *err["loc"]))
        msg = err["msg"].removeprefix("Value error, ")
        if "input" in err and not isinstance(err["input"], Mapping | list):
            msg += f" (got {err['input']!r})"
        lines.append(f"{loc}: {msg}")
    return f"{where}: " + "; ".join(lines)
