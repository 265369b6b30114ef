"""The annex bundle of a run: every figure, the crossings table, the key numbers and one multi-page PDF.

:func:`write_report` reads ``RUN_DIR/results.nc`` and writes ``RUN_DIR/report/<lang>/`` (``vi`` or ``en``: each
language has its own folder). For one run:

======================================  ==============================================================
``<figure>.png``, ``.pdf``, ``.svg``    each figure of :data:`scenarios.plots.FIGURES` (``dashboard``,
                                        ``cases``, ``oxygen_patients``, ``beds``, ``icu``, ``oxygen``);
                                        PNG at 300 dpi; A4 pages, or ``size="column"`` (16 cm wide)
``crossings.csv``, ``crossings.md``     :func:`scenarios.indicators.crossings` (ISO dates), and formatted
``key_numbers.csv``, ``key_numbers.md`` :func:`key_numbers` (whole numbers), and formatted
``actions.csv``, ``series.csv``         triggered actions; daily indicator and care series with units
``tables.png``, ``.pdf``, ``.svg``      the key numbers and the crossings as one A4 page
``tables.xlsx``                         the four CSVs as the sheets of one workbook
``annex.pdf``                           A4 pages with a 10 mm border: dashboard, tables, each figure
``annex.docx``                          Word: editable tables, column-wide figures, captions
======================================  ==============================================================

For results of many runs (a ``replicate`` dim, at least :data:`scenarios.plots.MIN_RUNS`): the probability
of each criterion being crossed by each date, bands (median, 5%-95%) of the indicators and of need against
capacity, ``crossing_ranges`` (share of runs crossed, median date, 5%-95% range), ``crossings_summary.csv``,
``series.csv``, ``tables.xlsx``, ``annex.pdf`` and ``annex.docx``.

Every CSV is UTF-8 with a byte-order mark (Excel reads the Vietnamese text). Every file is written through
:func:`scenarios.results.write_atomic`, into a temporary folder beside ``report/<lang>/`` that is renamed into
place at the end: a reader never sees a half-written report, and a failure leaves any earlier report as it was.
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
from .ensemble import summarise_crossings
from .export import daily_series, write_xlsx
from .indicators import crossings, write_crossings
from .plots import Lang, format_date, format_number, kit, m3_per_cylinder, page_bbox
from .policy import actions
from .results import ResultsError, current_umask, over_ages, read_netcdf, swap_into_place, write_atomic, write_csv
from .word import write_docx

__all__ = [
    "REPORT_DIR",
    "SIZES",
    "ReportError",
    "crossing_ranges",
    "crossings_table",
    "key_numbers",
    "load_run",
    "write_report",
]

SIZES = plots.SIZES

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


def _require_care(ds: xr.Dataset) -> None:
    missing = [v for v in _CARE_VARIABLES if v not in ds]
    if missing:
        raise ReportError(
            "the results have no care variables (" + ", ".join(missing) + "): "
            "run the config again with this version of scenarios"
        )


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
    _require_care(ds)
    table = crossings(ds) if table is None else table
    time = pd.to_datetime(ds["time"].values)
    rows: list[tuple[str, float, str, object]] = []

    ox = _total(ds, "oxygen_demand_m3_per_day")
    i = int(np.argmax(ox))
    per_cyl = m3_per_cylinder(ds)
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
    return write_csv(df, path)


# ---------------------------------------------------------------------------------------------------
# Table pages of the annex


def _tables_figure(ds: xr.Dataset, numbers: pd.DataFrame, cross: pd.DataFrame, lang: Lang):
    """Draw a portrait A4 page with the key numbers and the crossings table."""
    with kit.style():
        fig = kit.new_figure("a4-portrait")
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
            line = 8.5 * 1.3 / 72 / (fig.get_size_inches()[1] * 0.8 * share)  # one text line, axes fraction
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
        kit.decorate(fig, ds, title, lang)
    return fig


# ---------------------------------------------------------------------------------------------------
# The bundle


def load_run(run_dir: str | Path) -> xr.Dataset:
    """Read ``run_dir/results.nc``; a folder without readable results raises :class:`ReportError`."""
    run_dir = Path(run_dir)
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
    size: plots.PageSize | None = None,
) -> Path:
    """Write the annex bundle of a run into ``run_dir/report/<lang>/``.

    Parameters
    ----------
    run_dir : str or Path
        A folder written by ``scenarios run`` (it holds ``results.nc``).
    lang : {"vi", "en"}
        Language of the figures and formatted tables; Vietnamese by default. Each language has its own
        folder, so an English report leaves the Vietnamese one as it is.
    formats : sequence of {"png", "pdf", "svg"}
        Formats of each figure.
    dpi : int
        Resolution of the PNG figures.
    ds : xarray.Dataset, optional
        The results, if already in memory (otherwise read from ``run_dir/results.nc``, which must exist).
    size : {"a4-landscape", "a4-portrait", "column"}, optional
        Size of every figure file; default whole A4 pages (the dashboard portrait, the others landscape).
        ``annex.pdf`` is always A4 pages and ``annex.docx`` always column-wide figures.

    Returns
    -------
    Path
        The report folder. An earlier report there is replaced only once the new one is complete.

    Raises
    ------
    ReportError
        ``run_dir`` holds no ``results.nc``, results without the care variables, several what-ifs, or
        replicates too few for uncertainty bands (fewer than :data:`scenarios.plots.MIN_RUNS`).
    """
    lang = kit.check_lang(lang)
    if size is not None and size not in plots.SIZES:
        raise ReportError(f"size must be one of {', '.join(plots.SIZES)} (got {size!r})")
    run_dir = Path(run_dir)
    if ds is None:
        ds = load_run(run_dir)
    else:
        run_dir.mkdir(parents=True, exist_ok=True)
    ds = _one_what_if(ds, run_dir)
    _require_care(ds)
    ensemble = "replicate" in ds.dims
    if ensemble and ds.sizes["replicate"] < plots.MIN_RUNS:
        raise ReportError(
            f"{run_dir}: the results hold {ds.sizes['replicate']} runs; a report with uncertainty bands needs "
            f"at least {plots.MIN_RUNS} (run again with --replicates {plots.MIN_RUNS} or more)"
        )
    parent = run_dir / REPORT_DIR
    parent.mkdir(exist_ok=True)
    final = parent / lang
    tmp = Path(tempfile.mkdtemp(prefix=f".{lang}.", suffix=".tmp", dir=parent))
    try:
        build = _ensemble_bundle if ensemble else _single_bundle
        build(ds, tmp, lang, formats, dpi, size)
        os.chmod(tmp, 0o777 & ~current_umask())
        swap_into_place(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _one_what_if(ds: xr.Dataset, run_dir: Path) -> xr.Dataset:
    """Drop a ``scenario`` dim of one what-if; refuse several (a report is about one what-if)."""
    if "scenario" not in ds.dims:
        return ds
    if ds.sizes["scenario"] == 1:
        return ds.isel(scenario=0, drop=True)
    raise ReportError(
        f"{run_dir}: the results hold several runs (scenario={ds.sizes['scenario']}); a report is about one "
        "what-if: select one (ds.sel(scenario=...)) and pass it as ds=, or compare them with plots.compare"
    )


def _figure_size(name: str, size: plots.PageSize | None) -> plots.PageSize:
    if size is not None:
        return size
    return "a4-portrait" if name == "dashboard" else "a4-landscape"


def _draw_all(ds: xr.Dataset, lang: Lang, size: plots.PageSize | None) -> dict:
    return {name: draw(ds, lang=lang, size=_figure_size(name, size)) for name, draw in plots.FIGURES.items()}


def _single_bundle(ds, tmp, lang, formats, dpi, size) -> None:
    table = crossings(ds)
    numbers = key_numbers(ds, table)
    figures = _draw_all(ds, lang, size)
    for name, fig in figures.items():
        plots.save(fig, tmp / name, formats=formats, dpi=dpi)
    cross = crossings_table(table, lang)
    shown = _key_numbers_shown(numbers, lang)
    csvs = _write_tables(ds, tmp, table, numbers, lang)
    source = plots.source_line(ds, lang)
    _write_text(tmp / "crossings.md", _markdown(cross, _HEADS["crossings"][lang], source))
    _write_text(tmp / "key_numbers.md", _markdown(shown, _HEADS["key_numbers"][lang], source))
    tables = _tables_figure(ds, numbers, cross, lang)
    plots.save(tables, tmp / "tables", formats=formats, dpi=dpi)  # to paste into a document
    # The annex is A4 pages and the Word annex column-wide figures, whatever size the figure files are.
    on_page = figures if size is None else _draw_all(ds, lang, None)
    pages = [on_page["dashboard"], tables, *(fig for name, fig in on_page.items() if name != "dashboard")]
    title = _HEADS["annex"][lang] + f": {ds.attrs.get('scenario_name', '')}"
    write_atomic(tmp / "annex.pdf", lambda path: _annex(path, pages, title))
    column = figures if size == "column" else _draw_all(ds, lang, "column")
    write_docx(
        tmp / "annex.docx",
        title,
        [(plots.to_bytes(fig, "png", dpi=max(dpi, 150)), _caption(fig)) for fig in column.values()],
        [(_HEADS["crossings"][lang], cross), (_HEADS["key_numbers"][lang], shown)],
        lang,
        source,
    )
    _write_workbook(tmp, csvs, source)


#: Series a report over many runs draws as bands (plan indicators, then need against capacity).
_BAND_SERIES = ("cases_7d_per_100k", "oxygen_patients_7d_avg_per_100k", "icu", "beds", "oxygen")


def _ensemble_bundle(ds, tmp, lang, formats, dpi, size) -> None:
    figures = {"crossing_probability": plots.crossing_probability(ds, lang=lang, size=_figure_size("", size))}
    for name in _BAND_SERIES:
        figures[f"bands_{name}"] = plots.bands(ds, name, lang=lang, size=_figure_size("", size))
    for name, fig in figures.items():
        plots.save(fig, tmp / name, formats=formats, dpi=dpi)
    table = crossings(ds)
    summary = summarise_crossings(ds)
    ranges = crossing_ranges(summary, lang)
    source = plots.source_line(ds, lang)
    write_crossings(table, tmp / "crossings.csv")
    _write_csv(tmp / "crossings_summary.csv", summary)
    _write_csv(tmp / "crossing_ranges.csv", ranges)
    series = daily_series(ds, lang)
    _write_csv(tmp / "series.csv", series)
    _write_text(tmp / "crossing_ranges.md", _markdown(ranges, _HEADS["ranges"][lang], source))
    title = _HEADS["annex"][lang] + f": {ds.attrs.get('scenario_name', '')}"
    pages = list(figures.values())
    write_atomic(tmp / "annex.pdf", lambda path: _annex(path, pages, title))
    column = [plots.crossing_probability(ds, lang=lang, size="column")]
    column += [plots.bands(ds, name, lang=lang, size="column") for name in _BAND_SERIES]
    write_docx(
        tmp / "annex.docx",
        title,
        [(plots.to_bytes(fig, "png", dpi=max(dpi, 150)), _caption(fig)) for fig in column],
        [(_HEADS["ranges"][lang], ranges)],
        lang,
        source,
    )
    write_xlsx(
        {"crossings": table, "crossings_summary": summary, "crossing_ranges": ranges, "series": series},
        tmp / "tables.xlsx",
    )


def crossing_ranges(summary: pd.DataFrame, lang: Lang = "vi") -> pd.DataFrame:
    """Format the crossings over many runs: share crossed and the 5%-50%-95% range of first dates.

    Parameters
    ----------
    summary : pandas.DataFrame
        From :func:`scenarios.ensemble.summarise_crossings` with the default quantiles.
    lang : {"vi", "en"}
        Language.
    """
    vi = lang == "vi"
    rows = []
    for _, r in summary[summary["kind"].isin(["criterion", "activation", "overflow"])].iterrows():
        if r["kind"] == "criterion":
            name = plots.INDICATOR_LABELS.get(r["indicator"], {}).get(lang, (r["criterion"],))[0]
            name += f" ({r['operator']} {format_number(float(r['threshold']), lang)})"
        elif r["kind"] == "activation":
            name = "Kích hoạt phương án" if vi else "Plan activation"
        else:
            name = _OVERFLOW_NAMES.get(r["criterion"], (r["criterion"], r["criterion"]))[vi]
        share = f"{format_number(100 * float(r['share_crossed']), lang, 0)}% ({r['crossed']}/{r['replicates']})"
        dates = [
            format_date(r[f"first_date_{q}"], lang) if not pd.isna(r[f"first_date_{q}"]) else "—"
            for q in ("q5", "q50", "q95")
        ]
        rows.append((name, share, dates[1], f"{dates[0]} – {dates[2]}"))
    heads = (
        ("Tiêu chí", "Tỷ lệ lần chạy vượt ngưỡng", "Ngày vượt (trung vị)", "Khoảng 5%–95%")
        if vi
        else ("Criterion", "Share of runs crossed", "First date (median)", "5%–95% range")
    )
    return pd.DataFrame(rows, columns=list(heads))


_HEADS = {
    "crossings": {"vi": "Ngày vượt ngưỡng của phương án", "en": "Surge-plan threshold crossings"},
    "key_numbers": {"vi": "Các con số chính", "en": "Key numbers"},
    "ranges": {
        "vi": "Ngày vượt ngưỡng qua nhiều lần chạy (khoảng 5%–95%)",
        "en": "Threshold crossings over many runs (5%–95% range)",
    },
    "annex": {"vi": "Phụ lục", "en": "Annex"},
}


def _caption(fig) -> str:
    return (fig.get_suptitle() or "").split("\n")[0]


def _key_numbers_shown(numbers: pd.DataFrame, lang: Lang) -> pd.DataFrame:
    return pd.DataFrame(
        _key_numbers_text(numbers, lang),
        columns=list({"vi": ("Chỉ số", "Giá trị", "Ngày"), "en": ("Number", "Value", "Date")}[lang]),
    )


def _write_tables(ds, tmp, table, numbers, lang) -> dict[str, pd.DataFrame]:
    """Write the CSVs of a single run (UTF-8 with BOM) and return them by name, as written."""
    rounded = numbers.assign(value=numbers["value"].round(0))  # whole patients, beds, m³, cylinders, days
    tables = {
        "crossings": table,
        "key_numbers": rounded,
        "actions": actions(ds),
        "series": daily_series(ds, lang),
    }
    for name, df in tables.items():
        _write_csv(tmp / f"{name}.csv", df)
    return tables


def _write_workbook(tmp: Path, tables: dict[str, pd.DataFrame], source: str) -> None:
    write_xlsx(tables, tmp / "tables.xlsx", notes={name: source for name in tables})


def _annex(path: Path, pages: list, title: str) -> None:
    from matplotlib.backends.backend_pdf import PdfPages

    with kit.style(), PdfPages(path, metadata={"Title": title, "Creator": "scenarios (matplotlib)"}) as pdf:
        for fig in pages:
            pdf.savefig(fig, bbox_inches=page_bbox(fig))  # an A4 page with a 10 mm border
