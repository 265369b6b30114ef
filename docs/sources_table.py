"""Print the table of every config default with its units and source, from the config schema itself.

``docs/sources.md`` holds this table between its two ``<!-- parameters -->`` markers; a test checks that
it matches the schema, so a changed default cannot leave the documentation behind. Regenerate with::

    python docs/sources_table.py
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator

from pydantic import BaseModel

from scenarios.config import Config

MARK = "<!-- parameters -->"


def _models(annotation: object) -> list[type[BaseModel]]:
    """Return the config section classes inside an annotation (``Model``, ``Model | None``, ``tuple[Model, ...]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) in (typing.Union, tuple):
        for arg in typing.get_args(annotation):
            out += _models(arg)
    return out


def rows(model: type[BaseModel] = Config, prefix: str = "") -> Iterator[tuple[str, str, str, str]]:
    """Yield (dotted key, default, units, source) of every sourced field, sections first to last."""
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if "units" in extra:
            default = "required" if field.is_required() else _text(field.default)
            yield key, default, str(extra["units"]), str(extra["source"])
        for sub in _models(field.annotation):
            if sub.__name__ != "Duration" or "units" not in extra:
                yield from rows(sub, f"{key}.")


def _text(value: object) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, dict) and set(value) == {"mean_days", "sd_days"}:
        sd = value["sd_days"]
        return f"mean {value['mean_days']:g} d" + (f", sd {sd:g} d" if sd is not None else "")
    if isinstance(value, tuple | list):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return "—" if value is None else str(value)


def table() -> str:
    """Return the markdown table."""
    lines = ["| Key | Default | Units | Source |", "|---|---|---|---|"]
    for key, default, units, source in rows():
        cells = (f"`{key}`", default, units, source)
        lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
