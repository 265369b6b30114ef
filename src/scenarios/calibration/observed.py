"""Observed series a planner can give: read, validate, map old provinces to the 34 of 2025, aggregate by week.

The input is a long CSV with columns ``date, variable, value`` and optionally ``area`` (other columns, such as
``note`` or ``source_url``, are kept out of the way). ``#`` lines are comments. A missing day is missing
(``NaN``), never zero: an empty ``value`` or an absent date stays missing.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import find_province
from ..config.provinces import _fold

__all__ = [
    "VARIABLES",
    "DataError",
    "check_window",
    "read_observed",
    "shipped_observed",
    "weekly_sums",
]

VARIABLES = ("reported_cases", "deaths", "census_oxygen", "census_icu", "census_total", "admissions")
"""Observed series the fit understands: daily counts (flows) and censuses (patients on a date)."""

STOCKS = ("census_oxygen", "census_icu", "census_total")
ALIASES = {"new_cases": "reported_cases", "new_deaths": "deaths"}  # the national portal's names
REQUIRED = ("date", "variable", "value")
FLAGGED = "suspect_entry_error"  # note the shipped portal file puts on known entry errors


class DataError(ValueError):
    """Observed data that cannot be used; the message is one line naming the file, row/field and what is allowed."""


def shipped_observed(name: str = "vn_portal_province_daily.csv") -> Path:
    """Path of a shipped observed file (see ``data/observed/README.md`` for provenance)."""
    return Path(str(resources.files("scenarios") / "data" / "observed" / name))


@cache
def _mergers() -> dict[str, str]:
    """Folded pre-2025 province name -> 2025 province code (Resolution 202/2025/QH15)."""
    folder = resources.files("scenarios") / "data" / "vietnam"
    with (folder / "provinces_63_to_34_2025.csv").open(encoding="utf-8") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        out = {}
        for row in rows:
            out[_fold(row["name"])] = row["pcode_2025"]
            out[_fold(row["name_vi"])] = row["pcode_2025"]
        return out


def _rows(path: Path) -> pd.DataFrame:
    """Return the file's data rows as text, with the line number each came from."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read ({e.__class__.__name__}: {e})") from None
    numbered = [(i, line) for i, line in enumerate(text.splitlines(), 1) if line.strip() and not line.startswith("#")]
    if not numbered:
        raise DataError(f"{path}: no header line; required columns: {', '.join(REQUIRED)} (optional: area)")
    parsed = list(csv.reader(line for _, line in numbered))
    header = [h.strip().lower() for h in parsed[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise DataError(
            f"{path}, line {numbered[0][0]}: missing column(s) {', '.join(missing)}; "
            f"required: {', '.join(REQUIRED)} (optional: area)"
        )
    body = [r + [""] * (len(header) - len(r)) for r in parsed[1:]]
    df = pd.DataFrame([r[: len(header)] for r in body], columns=header, dtype=str)
    df["line"] = [i for i, _ in numbered[1:]]
    return df


def _first_bad(df: pd.DataFrame, bad: pd.Series) -> pd.Series | None:
    return df[bad].iloc[0] if bad.any() else None


def _validate(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Parse dates, variables and values; raise on the first bad row."""
    df = df.copy()
    df["variable"] = df["variable"].str.strip().replace(ALIASES)
    df["date_parsed"] = pd.to_datetime(df["date"].str.strip(), format="%Y-%m-%d", errors="coerce")
    if (row := _first_bad(df, df["date_parsed"].isna())) is not None:
        raise DataError(f"{path}, line {row.line}, date: {row.date!r} is not a date; allowed: YYYY-MM-DD")
    if (row := _first_bad(df, ~df["variable"].isin(VARIABLES))) is not None:
        raise DataError(
            f"{path}, line {row.line}, variable: {row.variable!r} is unknown; allowed: {', '.join(VARIABLES)}"
        )
    text = df["value"].str.strip()
    value = pd.to_numeric(text, errors="coerce")
    if (row := _first_bad(df, value.isna() & (text != ""))) is not None:
        raise DataError(
            f"{path}, line {row.line}, value: {row.value!r} is not a number; allowed: a count >= 0 or empty"
        )
    if (row := _first_bad(df, value < 0)) is not None:
        raise DataError(f"{path}, line {row.line}, value: {row.value} is negative; allowed: a count >= 0 or empty")
    df["value_parsed"] = value
    if "note" in df:  # known entry errors count as missing days, not as data
        df.loc[df["note"].fillna("").str.startswith(FLAGGED), "value_parsed"] = np.nan
    return df


def _duplicates(df: pd.DataFrame, path: Path, keys: Sequence[str]) -> None:
    dup = df.duplicated(list(keys), keep="first")
    if dup.any():
        row = df[dup].iloc[0]
        first = df[(df[list(keys)] == row[list(keys)]).all(axis=1)].iloc[0]
        where = ", ".join(f"{k}={row[k]}" for k in keys if k != "date_parsed")
        raise DataError(
            f"{path}, line {row.line}: duplicate of line {first.line} ({row.date}, {where}); "
            "allowed: one value per date, variable and area"
        )


def _select_area(df: pd.DataFrame, path: Path, area: str | None, to_2025: bool) -> tuple[pd.DataFrame, str]:
    if "area" not in df:
        return df.assign(area=""), area or ""
    df = df.assign(area=df["area"].str.strip())
    areas = list(dict.fromkeys(df["area"]))
    if area is None:
        if len(areas) > 1:
            raise DataError(f"{path}: the file has {len(areas)} areas; choose one with area= (e.g. {areas[0]!r})")
        return df, areas[0]
    if to_2025:
        province = find_province(area)
        if province is None:
            raise DataError(f"{path}: area {area!r} is not one of the 34 provinces of 2025 (code VN01..VN96 or name)")
        mergers = _mergers()
        keep = df["area"].map(lambda a: mergers.get(_fold(a)) == province.code)
        if not keep.any():
            raise DataError(f"{path}: no rows for {province.name_vi} or the provinces merged into it in 2025")
        return df[keep], province.name_vi
    keep = df["area"].map(_fold) == _fold(area)
    if not keep.any():
        shown = ", ".join(areas[:8]) + (" ..." if len(areas) > 8 else "")
        raise DataError(f"{path}: no rows for area {area!r}; areas in the file: {shown}")
    return df[keep], area


def read_observed(
    path: str | Path,
    area: str | None = None,
    *,
    to_2025: bool = False,
) -> pd.DataFrame:
    """Read a planner's observed CSV into one row per day and one column per variable.

    Parameters
    ----------
    path : str or Path
        CSV with columns ``date, variable, value`` and optionally ``area``; ``#`` lines are comments.
        Variables: ``reported_cases``, ``deaths``, ``admissions`` (daily counts) and ``census_oxygen``,
        ``census_icu``, ``census_total`` (patients on that date); ``new_cases``/``new_deaths`` are read as
        ``reported_cases``/``deaths``. Rows whose ``note`` starts with ``suspect_entry_error`` count as missing.
    area : str, optional
        Which area to read when the file holds several (name with or without diacritics).
    to_2025 : bool
        Read ``area`` as one of the 34 provinces of 2025 and sum the pre-2025 provinces merged into it
        (a date is missing if any of them misses it).

    Returns
    -------
    pandas.DataFrame
        Index ``date`` (every day from the first to the last date in the file), one float column per variable
        present, ``NaN`` where a day is missing. ``attrs`` holds ``source`` and ``area``.

    Raises
    ------
    DataError
        One line naming the file, the line and field, and what is allowed: unparseable dates, duplicates,
        negative counts, unknown variables, an unknown area.

    Examples
    --------
    >>> from scenarios.calibration import read_observed, shipped_observed
    >>> df = read_observed(shipped_observed(), "Bình Dương")
    >>> int(df.loc["2021-08-01":"2021-08-07", "reported_cases"].sum())
    9750
    """
    path = Path(path)
    df = _rows(path)
    df, name = _select_area(df, path, area, to_2025)
    df = _validate(df, path)
    _duplicates(df, path, ("date_parsed", "area", "variable"))
    wide = df.set_index(["date_parsed", "variable", "area"])["value_parsed"].unstack(["variable", "area"])
    # Sum merged provinces; one missing component makes the day missing.
    wide = wide.T.groupby(level="variable").sum(min_count=1).T if to_2025 else wide.droplevel("area", axis=1)
    if to_2025:
        n_parts = df.groupby("variable")["area"].nunique()
        counts = df.dropna(subset=["value_parsed"]).groupby(["date_parsed", "variable"])["area"].nunique()
        complete = counts.unstack("variable").reindex(index=wide.index, columns=wide.columns)
        wide = wide.where(complete.eq(n_parts.reindex(wide.columns)))
    days = pd.date_range(wide.index.min(), wide.index.max(), freq="D", name="date")
    out = wide.reindex(days)
    out = out[[v for v in VARIABLES if v in out.columns]].astype(float)
    out.columns.name = None
    out.attrs = {"source": str(path), "area": name}
    return out


def check_window(
    observed: pd.DataFrame,
    series: Iterable[str],
    start: dt.date,
    end: dt.date,
) -> None:
    """Raise :class:`DataError` when a series the fit uses has no data between ``start`` and ``end``."""
    source = observed.attrs.get("source", "observed data")
    window = observed.loc[pd.Timestamp(start) : pd.Timestamp(end)]
    for name in series:
        if name not in observed.columns:
            present = ", ".join(observed.columns) or "none"
            raise DataError(f"{source}: series {name!r} is not in the file (series present: {present})")
        if window[name].notna().sum() == 0:
            raise DataError(f"{source}: series {name!r} has no data in the fit window {start} .. {end}")


def weekly_sums(daily: np.ndarray, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sum daily counts by 7-day block from index ``start``; missing days are skipped, not zero.

    Parameters
    ----------
    daily : ndarray, shape (..., n_days)
        Daily counts, ``NaN`` where missing.
    start : int
        Index of the first day of the first week.

    Returns
    -------
    sums : ndarray, shape (..., n_weeks)
        Sum over the observed days of each week (``NaN`` for a week with no observed day).
    n_days : ndarray, shape (n_weeks,)
        Observed days in each week (the last week may be partial).

    Examples
    --------
    >>> import numpy as np
    >>> s, n = weekly_sums(np.array([1, 1, np.nan, 1, 1, 1, 1, 5.0]))
    >>> s.tolist(), n.tolist()
    ([6.0, 5.0], [6, 1])
    """
    x = np.asarray(daily, dtype=float)[..., start:]
    n_weeks = -(-x.shape[-1] // 7)
    pad = n_weeks * 7 - x.shape[-1]
    x = np.concatenate([x, np.full((*x.shape[:-1], pad), np.nan)], axis=-1).reshape(*x.shape[:-1], n_weeks, 7)
    seen = ~np.isnan(x)
    n = seen.sum(axis=-1)
    sums = np.where(n > 0, np.nansum(x, axis=-1), np.nan)
    return sums, n if n.ndim == 1 else n.reshape(-1, n_weeks)[0]
