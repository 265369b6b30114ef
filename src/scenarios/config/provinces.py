"""The 34 provinces of 2025 from the shipped table, found by code or by name with or without diacritics."""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["Province", "find_province", "province_candidates", "province_names"]


@dataclass(frozen=True)
class Province:
    """One row of ``data/vietnam/provinces_34_2025_boundaries.csv`` (WorldPop 2020 population)."""

    code: str
    name: str
    name_vi: str
    population: int


# Words that name the kind of area, not the area: dropped only at the ends ("Thanh Hóa" keeps its "Thanh").
_PREFIXES = (("thanh", "pho"), ("tinh",), ("tp",))
_SUFFIXES = (("city",), ("province",))


def _fold(text: str) -> str:
    """Lower-case, strip diacritics and a leading 'Tỉnh'/'Thành phố' or trailing 'city'/'province'.

    'Hà Nội', 'ha noi', 'Thành phố Hà Nội' and 'Ha Noi city' all fold to 'ha noi'; 'Hà Tĩnh' to 'ha tinh'.
    """
    text = text.replace("đ", "d").replace("Đ", "D")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    words = text.lower().replace("-", " ").replace(".", " ").split()
    for prefix in _PREFIXES:
        if tuple(words[: len(prefix)]) == prefix and len(words) > len(prefix):
            words = words[len(prefix) :]
            break
    for suffix in _SUFFIXES:
        if tuple(words[-len(suffix) :]) == suffix and len(words) > len(suffix):
            words = words[: -len(suffix)]
            break
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
    """Return the province whose code (``VN91``) or name matches ``key`` exactly after folding, else ``None``.

    Folding ignores case, diacritics and a leading 'Tỉnh'/'Thành phố' or trailing 'city'; a part of a name
    ("Ha", "Hoa") matches nothing (see :func:`province_candidates`).

    Examples
    --------
    >>> find_province("thanh pho ha noi").code, find_province("Hà Tĩnh").code, find_province("Ha")
    ('VN01', 'VN42', None)
    """
    folded = _fold(key)
    for p in _table():
        if key.strip().upper() == p.code or folded in (_fold(p.name), _fold(p.name_vi)):
            return p
    return None


def province_candidates(key: str) -> list[str]:
    """Vietnamese names of the provinces whose folded name contains every folded word of ``key``."""
    words = _fold(key).split()
    return [p.name_vi for p in _table() if words and all(w in _fold(p.name_vi).split() for w in words)]
