"""Tables for spreadsheets: the daily series of a run with units, and Excel workbooks.

:func:`daily_series` lays out, one row per date, the plan's indicators and the care numbers a planner
charts in Excel, with headers in Vietnamese or English that carry the unit, and numbers rounded to what
the quantity means (whole patients, beds, m³; one decimal per 100,000). :func:`export_series` writes it
beside a run as ``series.csv`` (UTF-8 with BOM) or ``series.xlsx``; :func:`write_xlsx` writes any set of
tables as the sheets of one workbook.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from . import indicators as _ind
from .plots import INDICATOR_LABELS, Lang, kit
from .results import over_ages, write_atomic, write_csv

__all__ = ["daily_series", "export_series", "write_xlsx"]

# Care series: name -> (results variables summed, label vi, label en, unit vi, unit en).
_CARE: dict[str, tuple[tuple[str, ...], str, str, str, str]] = {
    "new_infections": (
        ("new_infections",),
        "Lượt nhiễm mới (tính cả tái nhiễm)",
        "New infections (reinfections included)",
        "người/ngày",
        "people/day",
    ),
    "new_reported_cases": (
        ("new_reported_cases",),
        "Ca mắc mới được báo cáo",
        "New reported cases",
        "ca/ngày",
        "cases/day",
    ),
    "icu_need": (
        ("census_icu", "unmet_icu"),
        "Bệnh nhân cần hồi sức tích cực (ICU)",
        "Patients needing ICU",
        "bệnh nhân",
        "patients",
    ),
    "icu_staffed_available": (
        ("icu_staffed_available",),
        "Giường ICU có đủ nhân lực",
        "ICU beds with enough staff",
        "giường",
        "beds",
    ),
    "oxygen_bed_need": (
        ("census_oxygen", "unmet_oxygen"),
        "Bệnh nhân cần giường có oxy (tầng 2)",
        "Patients needing an oxygen bed (tier 2)",
        "bệnh nhân",
        "patients",
    ),
    "beds_oxygen_available": (
        ("beds_oxygen_available",),
        "Giường có oxy sẵn có",
        "Oxygen beds available",
        "giường",
        "beds",
    ),
    "oxygen_demand_m3_per_day": (("oxygen_demand_m3_per_day",), "Nhu cầu oxy", "Oxygen need", "m³/ngày", "m³/day"),
    "oxygen_supply_m3_per_day": (
        ("oxygen_supply_m3_per_day",),
        "Nguồn cung oxy",
        "Oxygen supply",
        "m³/ngày",
        "m³/day",
    ),
    "deaths": (("deaths",), "Tử vong", "Deaths", "ca/ngày", "deaths/day"),
    "deaths_without_care": (
        ("deaths_without_care",),
        "Tử vong do không được điều trị như cần",
        "Deaths without the care needed",
        "ca/ngày",
        "deaths/day",
    ),
}

_HEAD = {"vi": ("Ngày", "Ngày thứ", "Lần chạy"), "en": ("Date", "Day", "Run")}


def _header(label: str, unit: str) -> str:
    return f"{label} ({unit})" if unit else label


def daily_series(ds: xr.Dataset, lang: Lang = "vi") -> pd.DataFrame:
    """Lay out the daily indicator and care series of a run, with units in the headers.

    Parameters
    ----------
    ds : xarray.Dataset
        Results of one run, or of several (a ``replicate`` dim: one block of rows per run).
    lang : {"vi", "en"}
        Language of the headers.

    Returns
    -------
    pandas.DataFrame
        Date, day since the start, (run,) then the plan's indicators per 100,000 (one decimal) and the care
        numbers (whole numbers).

    Examples
    --------
    >>> import scenarios
    >>> cfg = scenarios.load_config("configs/phong_tho_new_variant.toml", overrides={"scenario.horizon_days": 30})
    >>> ds = scenarios.run(cfg)
    >>> daily_series(ds, "en").columns[:3].tolist()
    ['Date', 'Day', 'New cases in the last 7 days per 100,000 population (cases per 100,000)']
    """
    lang = kit.check_lang(lang)
    if "replicate" in ds.dims:
        parts = []
        for i in range(ds.sizes["replicate"]):
            part = daily_series(ds.isel(replicate=i, drop=True), lang)
            part.insert(2, _HEAD[lang][2], i + 1)
            parts.append(part)
        return pd.concat(parts, ignore_index=True)
    times = pd.to_datetime(ds["time"].values)
    out = pd.DataFrame({_HEAD[lang][0]: times.date, _HEAD[lang][1]: np.arange(len(times))})
    values = _ind.indicators_from_results(ds)
    for name, labels in INDICATOR_LABELS.items():
        if name in values:
            label, unit = labels[lang]
            out[_header(label, unit)] = np.round(over_ages(values[name]).values.astype(float), 1)
    for names, label_vi, label_en, unit_vi, unit_en in _CARE.values():
        if all(n in ds for n in names):
            total = sum(over_ages(ds[n]).values.astype(float) for n in names)
            head = _header(label_vi, unit_vi) if lang == "vi" else _header(label_en, unit_en)
            out[head] = np.round(total, 0)
    return out


def write_xlsx(sheets: Mapping[str, pd.DataFrame], path: str | Path, notes: Mapping[str, str] | None = None) -> Path:
    """Write tables as the sheets of one Excel workbook, atomically.

    Parameters
    ----------
    sheets : mapping of sheet name to DataFrame
        Names are cut to Excel's 31 characters.
    path : str or Path
        The ``.xlsx`` file.
    notes : mapping of sheet name to str, optional
        A line written under each table (e.g. the source line).

    Returns
    -------
    Path
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    def write(tmp: Path) -> None:
        wb = Workbook()
        wb.remove(wb.active)
        for name, df in sheets.items():
            ws = wb.create_sheet(name[:31])
            ws.append([str(c) for c in df.columns])
            for cell in ws[1]:
                cell.font = Font(bold=True)
            for row in df.itertuples(index=False):
                ws.append([_cell(v) for v in row])
            for j, col in enumerate(df.columns, start=1):
                ws.column_dimensions[get_column_letter(j)].width = min(60, max(10, len(str(col)) * 0.9))
                for cell in ws[get_column_letter(j)][1:]:
                    if hasattr(cell.value, "year"):  # dates as planners write them
                        cell.number_format = "DD/MM/YYYY"
            ws.freeze_panes = "A2"
            if notes and notes.get(name):
                ws.append([])
                ws.append([notes[name]])
        wb.save(tmp)

    return write_atomic(path, write)


def _cell(v: object) -> object:
    """Return a value openpyxl writes: None for missing, dates as datetimes, numpy scalars as Python numbers."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, np.generic):
        return v.item()
    return v


def export_series(ds: xr.Dataset, run_dir: str | Path, fmt: str = "csv", lang: Lang = "vi") -> Path:
    """Write the daily series of a run as ``run_dir/series.csv`` (UTF-8 with BOM) or ``series.xlsx``.

    Raises
    ------
    ValueError
        ``fmt`` is not ``csv`` or ``xlsx``.
    """
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"format must be csv or xlsx (got {fmt!r})")
    table = daily_series(ds, lang)
    if fmt == "csv":
        return write_csv(table, Path(run_dir) / "series.csv")
    return write_xlsx({"series": table}, Path(run_dir) / "series.xlsx")
