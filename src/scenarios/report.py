"""The annex bundle of a run: every figure, the crossings table, the key numbers and one multi-page PDF.

:func:`write_report` reads ``RUN_DIR/results.nc`` and writes ``RUN_DIR/report/``:

======================================  ==============================================================
``<figure>.png``, ``.pdf``, ``.svg``    each figure of :data:`scenarios.plots.FIGURES` (``dashboard``,
                                        ``cases``, ``oxygen_patients``, ``beds``, ``icu``, ``oxygen``);
                                        PNG at 300 dpi
``crossings.csv``                       :func:`scenarios.indicators.crossings` (ISO dates)
``crossings.md``                        the same as a formatted table in the report's language
``key_numbers.csv``, ``key_numbers.md`` :func:`key_numbers`: peak oxygen (m³/day, cylinders/day), peak ICU
                                        need vs staffed beds, first overflow, deaths without care...
``tables.png``, ``.pdf``, ``.svg``      the key numbers and the crossings as one A4 page
``annex.pdf``                           one PDF: dashboard, tables, then each figure, one per page
======================================  ==============================================================

Every file is written through :func:`scenarios.results.write_atomic`, into a temporary folder beside
``report/`` that is renamed into place at the end: a reader never sees a half-written report, and a failure
leaves any earlier report as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from . import plots
from .indicators import crossings, write_crossings
from .plots import Lang, format_date, format_number
from .results import ResultsError, current_umask, over_ages, read_netcdf, swap_into_place, write_atomic

__all__ = ["REPORT_DIR", "ReportError", "crossings_table", "key_numbers", "write_report"]

#: Name of the report folder inside a run folder.
REPORT_DIR = "report"

_CARE_VARIABLES = (
    "census_oxygen",
    "unmet_oxygen",
    "census_icu",
    "unmet_icu",
    "beds_oxygen_available",
    "icu_staffed_available",
    "oxygen_demand_m3_per_day",
    "oxygen_supply_m3_per_day",
    "deaths_without_care",
)


_ENSEMBLE_DIMS = ("scenario", "replicate")


class ReportError(ValueError):
    """A run folder that cannot be reported on (no results, or results without the care variables)."""


# ---------------------------------------------------------------------------------------------------
# Tables

_KEY_LABELS: dict[str, tuple[str, str]] = {
    # key: (English, Vietnamese)
    "peak_oxygen_demand_m3_per_day": ("Peak oxygen demand", "Nhu cầu oxy cao nhất"),
    "peak_oxygen_demand_cylinders_per_day": (
        "Peak oxygen demand in cylinders",
        "Nhu cầu oxy cao nhất quy ra bình",
    ),
    "oxygen_supply_at_peak_m3_per_day": ("Oxygen supply on that date", "Nguồn cung oxy vào ngày đó"),
    "peak_icu_need": (
        "Peak ICU need (in ICU or needing it)",
        "Nhu cầu ICU cao nhất (đang điều trị hoặc cần)",
    ),
    "icu_staffed_at_peak": (
        "ICU beds with enough staff on that date",
        "Giường ICU có đủ nhân lực vào ngày đó",
    ),
    "peak_oxygen_bed_need": ("Peak oxygen-bed need (tier 2)", "Nhu cầu giường có oxy cao nhất (tầng 2)"),
    "oxygen_beds_at_peak": ("Oxygen beds available on that date", "Giường có oxy sẵn có vào ngày đó"),
    "first_overflow_date": (
        "First overflow (patients without oxygen/ICU care)",
        "Ngày đầu tiên quá tải (bệnh nhân không được thở oxy/hồi sức)",
    ),
    "activation_date": ("Plan activation date", "Ngày kích hoạt phương án"),
    "lead_days": ("Lead time from activation to overflow", "Thời gian từ kích hoạt đến quá tải"),
    "deaths": ("Deaths", "Tổng số ca tử vong"),
    "deaths_without_care": (
        "Deaths without care (no bed/oxygen/ICU)",
        "Tử vong do không được điều trị (thiếu giường/oxy/ICU)",
    ),
}

_KEY_UNITS: dict[str, tuple[str, str]] = {
    "m3/day": ("m³/day", "m³/ngày"),
    "cylinders/day": ("cylinders/day", "bình/ngày"),
    "patients": ("patients", "bệnh nhân"),
    "beds": ("beds", "giường"),
    "days": ("days", "ngày"),
    "people": ("people", "người"),
    "date": ("", ""),
}


def _total(ds: xr.Dataset, name: str) -> np.ndarray:
    return over_ages(ds[name]).values.astype(float)


def key_numbers(ds: xr.Dataset, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Compute the numbers a planner quotes from a run.

    Parameters
    ----------
    ds : xarray.Dataset
        Results of one run with the care variables.
    table : pandas.DataFrame, optional
        Its crossings table (computed when not given).

    Returns
    -------
    pandas.DataFrame
        One row per number: ``key``, ``value`` (float; NaN when it does not happen, e.g. no overflow),
        ``unit`` (``m3/day``, ``cylinders/day``, ``patients``, ``beds``, ``days``, ``people`` or ``date``),
        ``date`` (the date it refers to, NaT if none), ``label_en``, ``label_vi``. Rows: peak oxygen
        demand in m³/day and in cylinders/day and the supply that day; peak ICU need and the staffed ICU
        beds that day; peak oxygen-bed need and the beds that day; first overflow date; plan activation
        date; lead time from activation to overflow; deaths; deaths without care.
    """
    missing = [v for v in _CARE_VARIABLES if v not in ds]
    if missing:
        raise ReportError(
            "the results have no care variables (" + ", ".join(missing) + "): "
            "run the config again with this version of scenarios"
        )
    table = crossings(ds) if table is None else table
    time = pd.to_datetime(ds["time"].values)
    rows: list[tuple[str, float, str, object]] = []

    ox = _total(ds, "oxygen_demand_m3_per_day")
    i = int(np.argmax(ox))
    per_cyl = plots._m3_per_cylinder(ds)
    rows += [
        ("peak_oxygen_demand_m3_per_day", ox[i], "m3/day", time[i]),
        ("peak_oxygen_demand_cylinders_per_day", ox[i] / per_cyl, "cylinders/day", time[i]),
        ("oxygen_supply_at_peak_m3_per_day", _total(ds, "oxygen_supply_m3_per_day")[i], "m3/day", time[i]),
    ]
    icu = _total(ds, "census_icu") + _total(ds, "unmet_icu")
    j = int(np.argmax(icu))
    rows += [
        ("peak_icu_need", icu[j], "patients", time[j]),
        ("icu_staffed_at_peak", _total(ds, "icu_staffed_available")[j], "beds", time[j]),
    ]
    beds = _total(ds, "census_oxygen") + _total(ds, "unmet_oxygen")
    k = int(np.argmax(beds))
    rows += [
        ("peak_oxygen_bed_need", beds[k], "patients", time[k]),
        ("oxygen_beds_at_peak", _total(ds, "beds_oxygen_available")[k], "beds", time[k]),
    ]
    ovf = table.attrs.get("overflow_date", pd.NaT)
    act = table.attrs.get("activation_date", pd.NaT)
    lead = table.attrs.get("lead_days", pd.NA)
    rows += [
        ("first_overflow_date", np.nan, "date", ovf),
        ("activation_date", np.nan, "date", act),
        ("lead_days", np.nan if pd.isna(lead) else float(lead), "days", pd.NaT),
        ("deaths", float(_total(ds, "deaths").sum()) if "deaths" in ds else np.nan, "people", pd.NaT),
        ("deaths_without_care", float(_total(ds, "deaths_without_care").sum()), "people", pd.NaT),
    ]
    df = pd.DataFrame(rows, columns=["key", "value", "unit", "date"])
    df["date"] = pd.to_datetime(df["date"])
    df["label_en"] = [_KEY_LABELS[k][0] for k in df["key"]]
    df["label_vi"] = [_KEY_LABELS[k][1] for k in df["key"]]
    return df


def _key_numbers_text(df: pd.DataFrame, lang: Lang) -> list[tuple[str, str, str]]:
    """(label, value with unit, date) per row, formatted for ``lang``."""
    out = []
    for _, r in df.iterrows():
        label = r["label_vi"] if lang == "vi" else r["label_en"]
        unit = _KEY_UNITS[r["unit"]][lang == "vi"]
        if r["unit"] == "date":
            value = format_date(r["date"], lang) if not pd.isna(r["date"]) else _NEVER[lang]
            date = ""
        else:
            value = (
                f"{format_number(float(r['value']), lang, 0)} {unit}".strip()
                if not pd.isna(r["value"])
                else _NEVER[lang]
            )
            date = format_date(r["date"], lang) if not pd.isna(r["date"]) else ""
        out.append((label, value, date))
    return out


_NEVER = {"vi": "không xảy ra", "en": "does not happen"}

_CROSS_HEAD = {
    "vi": ("Tiêu chí", "Điều kiện", "Ngày đạt đầu tiên", "Số ngày đạt", "Số ngày trước quá tải"),
    "en": ("Criterion", "Condition", "First date met", "Days met", "Days before overflow"),
}
_OVERFLOW_NAMES = {
    "overflow_oxygen": (
        "Overflow: patients needing oxygen without it",
        "Quá tải: bệnh nhân cần oxy không được đáp ứng",
    ),
    "overflow_icu": (
        "Overflow: critical patients without an ICU bed",
        "Quá tải: bệnh nhân nặng không có giường ICU",
    ),
    "overflow": ("Overflow (either)", "Quá tải (bất kỳ)"),
}


def crossings_table(table: pd.DataFrame, lang: Lang = "vi") -> pd.DataFrame:
    """Format the crossings table for an annex in ``lang`` (text columns, localised dates and numbers).

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`scenarios.indicators.crossings` (one run).
    lang : {"vi", "en"}
        Language.

    Returns
    -------
    pandas.DataFrame
        Columns: criterion, condition, first date met, days met, days before overflow (headers in ``lang``).
    """
    vi = lang == "vi"
    rows = []
    for _, r in table.iterrows():
        if r["kind"] == "criterion":
            name = plots.INDICATOR_LABELS.get(r["indicator"], {}).get(lang, (r["criterion"],))[0]
            cond = f"{r['operator']} {format_number(float(r['threshold']), lang)}"
            if r["sustained_days"] > 1:
                cond += (
                    f" trong {r['sustained_days']} ngày liên tiếp"
                    if vi
                    else f" for {r['sustained_days']} days in a row"
                )
        elif r["kind"] == "activation":
            name = "Kích hoạt phương án" if vi else "Plan activation"
            k = int(r["threshold"])
            cond = (
                f"đạt ít nhất {k} tiêu chí cùng ngày"
                if vi
                else f"at least {k} {'criterion' if k == 1 else 'criteria'} met on the same date"
            )
        elif r["kind"] == "level":
            name = f"Cấp độ dịch ≥ {int(r['threshold'])}" if vi else f"Epidemic level ≥ {int(r['threshold'])}"
            cond = ""
        else:
            name = _OVERFLOW_NAMES.get(r["criterion"], (r["criterion"], r["criterion"]))[vi]
            cond = "> 0"
        first = format_date(r["first_date"], lang) if not pd.isna(r["first_date"]) else _NEVER[lang]
        lead = "" if pd.isna(r["lead_days"]) else format_number(int(r["lead_days"]), lang, 0)
        rows.append((name, cond, first, format_number(int(r["days_met"]), lang, 0), lead))
    return pd.DataFrame(rows, columns=list(_CROSS_HEAD[lang]))


def _markdown(df: pd.DataFrame, title: str, note: str = "") -> str:
    cols = [str(c) for c in df.columns]
    lines = [f"# {title}", ""]
    if note:
        lines += [note, ""]
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "|".join("---" for _ in cols) + "|")
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines) + "\n"


def _write_text(path: Path, text: str) -> Path:
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _write_csv(path: Path, df: pd.DataFrame) -> Path:
    # utf-8 with BOM: Excel (as planners open it) shows the Vietnamese text; pandas reads it as is.
    return write_atomic(path, lambda tmp: df.to_csv(tmp, index=False, encoding="utf-8-sig", date_format="%Y-%m-%d"))


# ---------------------------------------------------------------------------------------------------
# Table pages of the annex


def _tables_figure(ds: xr.Dataset, numbers: pd.DataFrame, cross: pd.DataFrame, lang: Lang):
    """Draw a portrait A4 page with the key numbers and the crossings table."""
    with plots._rc():
        fig = plots._new_figure("a4-portrait")
        ratios = [len(numbers) * 1.3 + 3, len(cross) * 2.2 + 4]
        grid = fig.add_gridspec(2, 1, height_ratios=ratios)
        heads = {
            "vi": ("Các con số chính", "Ngày vượt ngưỡng của phương án"),
            "en": ("Key numbers", "Surge-plan threshold crossings"),
        }[lang]
        cols = {"vi": ("Chỉ số", "Giá trị", "Ngày"), "en": ("Number", "Value", "Date")}[lang]
        for share, ax, head, body, columns, widths in (
            (
                ratios[0] / sum(ratios),
                fig.add_subplot(grid[0]),
                heads[0],
                [list(r) for r in _key_numbers_text(numbers, lang)],
                cols,
                [0.58, 0.25, 0.17],
            ),
            (
                ratios[1] / sum(ratios),
                fig.add_subplot(grid[1]),
                heads[1],
                cross.values.tolist(),
                list(cross.columns),
                [0.38, 0.2, 0.16, 0.1, 0.16],
            ),
        ):
            ax.axis("off")
            ax.set_title(head, loc="left", fontsize=12, fontweight="bold")
            wrap = [int(w * 88) for w in widths]
            cells = [["\n".join(textwrap.wrap(str(c), wrap[k])) or "" for k, c in enumerate(row)] for row in body]
            header = ["\n".join(textwrap.wrap(str(c), wrap[k])) for k, c in enumerate(columns)]
            tab = ax.table(
                cellText=cells,
                colLabels=header,
                colWidths=widths,
                loc="upper left",
                cellLoc="left",
                colLoc="left",
            )
            tab.auto_set_font_size(False)
            tab.set_fontsize(8.5)
            line = 8.5 * 1.3 / 72 / (plots.A4_PORTRAIT[1] * 0.8 * share)  # one text line, axes fraction
            celld = tab.get_celld()
            n_lines: dict[int, int] = {}
            for (r, _c), cell in celld.items():
                n_lines[r] = max(n_lines.get(r, 1), cell.get_text().get_text().count("\n") + 1)
            for (r, _c), cell in celld.items():
                cell.set_height(line * (n_lines[r] + 0.7))
                if r == 0:
                    cell.set_facecolor("#e8e8e8")
                    cell.get_text().set_fontweight("bold")
        title = {"vi": "Bảng số liệu chính và ngày vượt ngưỡng", "en": "Key numbers and threshold crossings"}[lang]
        plots._decorate(fig, ds, title, lang)
    return fig


# ---------------------------------------------------------------------------------------------------
# The bundle


def _load(run_dir: Path) -> xr.Dataset:
    results = run_dir / "results.nc"
    if not run_dir.is_dir():
        raise ReportError(f"{run_dir}: not a folder (give the folder a run wrote, holding results.nc)")
    if not results.is_file():
        raise ReportError(
            f"{run_dir}: no results here ({results} not found); "
            "write them first with: scenarios run CONFIG --out " + str(run_dir)
        )
    try:
        return read_netcdf(results)
    except ResultsError as e:
        raise ReportError(str(e)) from None
    except (OSError, ValueError, TypeError) as e:
        raise ReportError(f"{results}: cannot be read as results ({e})") from None


def write_report(
    run_dir: str | Path,
    lang: Lang = "vi",
    formats: Sequence[plots.Format] = ("png", "pdf", "svg"),
    dpi: int = 300,
    ds: xr.Dataset | None = None,
) -> Path:
    """Write the annex bundle of a run into ``run_dir/report/``.

    Parameters
    ----------
    run_dir : str or Path
        A folder written by ``scenarios run`` (it holds ``results.nc``).
    lang : {"vi", "en"}
        Language of the figures and formatted tables; Vietnamese by default.
    formats : sequence of {"png", "pdf", "svg"}
        Formats of each figure.
    dpi : int
        Resolution of the PNG figures.
    ds : xarray.Dataset, optional
        The results, if already in memory (otherwise read from ``run_dir/results.nc``, which must exist).

    Returns
    -------
    Path
        The report folder. An earlier report there is replaced only once the new one is complete.

    Raises
    ------
    ReportError
        ``run_dir`` holds no ``results.nc``, results without the care variables, or several runs.
    """
    lang = plots._check_lang(lang)
    run_dir = Path(run_dir)
    if ds is None:
        ds = _load(run_dir)
    else:
        run_dir.mkdir(parents=True, exist_ok=True)
    runs = {d: n for d, n in ds.sizes.items() if d in _ENSEMBLE_DIMS}
    if runs:
        raise ReportError(
            f"{run_dir}: the results hold several runs ({', '.join(f'{d}={n}' for d, n in runs.items())}); "
            "a report is for one run (select one, e.g. ds.isel(replicate=0), and pass it as ds=)"
        )
    table = crossings(ds)
    numbers = key_numbers(ds, table)
    final = run_dir / REPORT_DIR
    tmp = Path(tempfile.mkdtemp(prefix=f".{REPORT_DIR}.", suffix=".tmp", dir=run_dir))
    try:
        figures = {}
        for name, draw in plots.FIGURES.items():
            figures[name] = fig = draw(ds, lang=lang)
            plots.save(fig, tmp / name, formats=formats, dpi=dpi)
        write_crossings(table, tmp / "crossings.csv")
        cross = crossings_table(table, lang)
        head = {"vi": "Ngày vượt ngưỡng của phương án", "en": "Surge-plan threshold crossings"}[lang]
        source = plots.source_line(ds, lang)
        _write_text(tmp / "crossings.md", _markdown(cross, head, source))
        _write_csv(tmp / "key_numbers.csv", numbers)
        shown = pd.DataFrame(
            _key_numbers_text(numbers, lang),
            columns=list({"vi": ("Chỉ số", "Giá trị", "Ngày"), "en": ("Number", "Value", "Date")}[lang]),
        )
        _write_text(
            tmp / "key_numbers.md",
            _markdown(shown, {"vi": "Các con số chính", "en": "Key numbers"}[lang], source),
        )
        tables = _tables_figure(ds, numbers, cross, lang)
        plots.save(tables, tmp / "tables", formats=formats, dpi=dpi)  # to paste into a document
        pages = [
            figures["dashboard"],
            tables,
            *(fig for name, fig in figures.items() if name != "dashboard"),
        ]
        title = {"vi": "Phụ lục", "en": "Annex"}[lang] + f": {ds.attrs.get('scenario_name', '')}"
        write_atomic(tmp / "annex.pdf", lambda path: _annex(path, pages, title))
        os.chmod(tmp, 0o777 & ~current_umask())
        swap_into_place(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _annex(path: Path, pages: list, title: str) -> None:
    from matplotlib.backends.backend_pdf import PdfPages

    with plots._rc(), PdfPages(path, metadata={"Title": title, "Creator": "scenarios (matplotlib)"}) as pdf:
        for fig in pages:
            pdf.savefig(fig)
