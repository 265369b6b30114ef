"""The 34 provinces of 2025 from the shipped table, found by code or by name with or without diacritics."""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["Province", "find_province", "province_names"]


@dataclass(frozen=True)
class Province:
    """One row of ``data/vietnam/provinces_34_2025_boundaries.csv`` (WorldPop 2020 population)."""

    code: str
    name: str
    name_vi: str
    population: int


def _fold(text: str) -> str:
    """Lower-case, strip diacritics and 'city' so 'Hà Nội', 'ha noi' and 'Ha Noi city' all match."""
    text = text.replace("đ", "d").replace("Đ", "D")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    words = [w for w in text.lower().replace("-", " ").split() if w not in {"city", "thanh", "pho", "tinh"}]
    return " ".join(words)


@cache
def _table() -> tuple[Province, ...]:
    folder = resources.files("scenarios") / "data" / "vietnam"
    with (folder / "province_names_vi.csv").open(encoding="utf-8") as f:
        vi = {row["pcode"]: row["name_vi"] for row in csv.DictReader(f)}
    with (folder / "provinces_34_2025_boundaries.csv").open(encoding="utf-8") as f:
        return tuple(
            Province(row["pcode"], row["name"], vi[row["pcode"]], int(row["population_2020"]))
            for row in csv.DictReader(f)
        )


def province_names() -> list[str]:
    """Vietnamese names of the 34 provinces, for error messages and docs."""
    return [p.name_vi for p in _table()]


def find_province(key: str) -> Province | None:
    """Return the province whose code (``VN91``) or name matches ``key``, else ``None``."""
    folded = _fold(key)
    for p in _table():
        if key.strip().upper() == p.code or folded in (_fold(p.name), _fold(p.name_vi)):
            return p
    return None
