"""Figures for the annexes (phụ lục) of surge plans, in Vietnamese or English.

Each figure function takes the results Dataset of one run (from :func:`scenarios.run` or a ``results.nc``)
and returns a :class:`matplotlib.figure.Figure` built with the object-oriented API (no pyplot state), sized
for A4, with a title, axis labels with units, and a source line (config, date run, version, engine, seed):

=========================  ===========================================================================
:func:`cases`              reported cases in the last 7 days per 100,000, with the plan's threshold line
                           and the crossing date marked
:func:`oxygen_patients`    patients needing oxygen (7-day average) per 100,000 against its threshold
:func:`beds`               tier-2 (oxygen) bed demand vs available beds, surge steps, the day beds run out
:func:`icu`                ICU demand vs staffed ICU beds, overflow shaded
:func:`oxygen`             oxygen demand vs supply in m³/day (cylinders/day on the right), unmet shaded
:func:`dashboard`          one page: every criterion of the plan, activation date, lead time to overflow
:func:`compare`            two or more runs (what-ifs, SEIR vs agent-based) on the same axes
=========================  ===========================================================================

:func:`save` writes a figure as PNG (300 dpi), PDF and SVG, each file atomically. Text is set in DejaVu Sans
(shipped with matplotlib; it has every Vietnamese glyph) and kept as text in SVG and PDF, so an annex can
be searched and edited. ``lang="vi"`` (the default: planners' annexes) uses Vietnamese labels, dates as
dd/mm/yyyy and numbers as ``1.234,5``; ``lang="en"`` uses English labels, ``1,234.5`` and ``15 Jan 2027``.

matplotlib is imported inside the functions only: ``import scenarios`` does not load it.
"""

from __future__ import annotations

import json
import math
import textwrap
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from . import indicators as _ind
from .results import VARIABLES, over_ages, write_atomic

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .config.surge import ThresholdSet

__all__ = [
    "FIGURES",
    "Lang",
    "PageSize",
    "beds",
    "cases",
    "compare",
    "dashboard",
    "format_date",
    "format_number",
    "icu",
    "measures",
    "oxygen",
    "oxygen_patients",
    "save",
    "to_bytes",
]

Lang = Literal["vi", "en"]
PageSize = Literal["a4-landscape", "a4-portrait"] | tuple[float, float]

#: A4 in inches (210 x 297 mm).
A4_LANDSCAPE = (297 / 25.4, 210 / 25.4)
A4_PORTRAIT = (210 / 25.4, 297 / 25.4)

#: The font: shipped with matplotlib, covers Vietnamese (precomposed Latin Extended Additional glyphs).
FONT = "DejaVu Sans"

_RC = {
    "font.family": "sans-serif",
    "font.sans-serif": [FONT],
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 9.5,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.fonttype": "none",  # text stays text in SVG
    "pdf.fonttype": 42,  # TrueType embedded: text can be searched and copied from the PDF
    "axes.unicode_minus": True,
    "text.parse_math": False,  # names are plain text: "$5 đến $10" is money, not math
}

# Colours (colour-blind-safe Okabe-Ito) and roles.
_C = {
    "series": "#0072B2",
    "capacity": "#009E73",
    "threshold": "#D55E00",
    "overflow": "#D55E00",
    "activation": "#CC79A7",
    "surge": "#56B4E9",
    "grey": "#555555",
    "met": "#E69F00",
}
_RUN_COLOURS = [
    "#0072B2",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#000000",
    "#999999",
]  # vermillion: thresholds

# ---------------------------------------------------------------------------------------------------
# Words

_T: dict[str, dict[str, str]] = {
    "cases_title": {
        "vi": "Số ca mắc mới trong 7 ngày trên 100.000 dân",
        "en": "New cases in the last 7 days per 100,000 population",
    },
    "oxygen_patients_title": {
        "vi": "Bệnh nhân cần thở oxy (trung bình 7 ngày) trên 100.000 dân",
        "en": "Patients needing oxygen (7-day average) per 100,000 population",
    },
    "beds_title": {
        "vi": "Giường điều trị có oxy (tầng 2): nhu cầu và số giường sẵn có",
        "en": "Oxygen beds (tier 2): demand vs available beds",
    },
    "icu_title": {
        "vi": "Giường hồi sức tích cực (ICU) có đủ nhân lực: nhu cầu và khả năng đáp ứng",
        "en": "ICU: demand vs ICU beds with enough health staff",
    },
    "oxygen_title": {"vi": "Oxy y tế: nhu cầu và nguồn cung", "en": "Medical oxygen: demand vs supply"},
    "dashboard_title": {
        "vi": "Các tiêu chí kích hoạt phương án ứng phó",
        "en": "Surge-plan activation criteria",
    },
    "compare_title": {"vi": "So sánh các kịch bản", "en": "Comparison of runs"},
    "date": {"vi": "Ngày", "en": "Date"},
    "threshold": {"vi": "Ngưỡng của phương án", "en": "Plan threshold"},
    "crossed": {"vi": "Vượt ngưỡng", "en": "Threshold crossed"},
    "not_crossed": {
        "vi": "Không vượt ngưỡng trong thời gian mô phỏng",
        "en": "Threshold not crossed within the run",
    },
    "met_from_start": {
        "vi": "Đạt ngưỡng ngay từ đầu (năng lực sẵn có), không phải tín hiệu kích hoạt",
        "en": "Met from the start (a finding about capacity), not a trigger",
    },
    "activation": {"vi": "Ngày kích hoạt phương án", "en": "Plan activation date"},
    "not_activated": {
        "vi": "Phương án không được kích hoạt trong thời gian mô phỏng",
        "en": "The plan is not activated within the run",
    },
    "overflow_first": {
        "vi": "Ngày đầu tiên quá tải (bệnh nhân không được thở oxy/hồi sức)",
        "en": "First overflow (patients without oxygen/ICU care)",
    },
    "overflow_short": {"vi": "Quá tải", "en": "Overflow"},
    "no_overflow": {"vi": "Không quá tải trong thời gian mô phỏng", "en": "No overflow within the run"},
    "lead_time": {"vi": "Thời gian từ kích hoạt đến quá tải", "en": "Lead time from activation to overflow"},
    "days": {"vi": "ngày", "en": "days"},
    "first_criterion": {"vi": "tiêu chí đạt đầu tiên", "en": "first criterion met"},
    "met_at_start": {
        "vi": "Lưu ý: tiêu chí «{criterion}» đã đạt ngay từ ngày đầu (năng lực hiện có đã ở dưới ngưỡng)",
        "en": "Note: “{criterion}” is met from the first day (current capacity is already past the threshold)",
    },
    "measure": {"vi": "Biện pháp", "en": "Measure"},
    "indicator": {"vi": "Giá trị của tiêu chí", "en": "Indicator value"},
    "overflow_day": {"vi": "Ngày đầu tiên quá tải", "en": "First overflow"},
    "met_days": {"vi": "Ngày đạt tiêu chí", "en": "Days the criterion is met"},
    "tier2_demand": {
        "vi": "Bệnh nhân cần giường thở oxy (tầng 2)",
        "en": "Patients needing an oxygen bed (tier 2)",
    },
    "beds_available": {"vi": "Giường có oxy sẵn có cho COVID-19", "en": "Oxygen beds available for COVID-19"},
    "beds_run_out": {"vi": "Ngày hết giường", "en": "Beds run out"},
    "beds_enough": {"vi": "Đủ giường trong thời gian mô phỏng", "en": "Enough beds within the run"},
    "surge_step": {"vi": "Bước tăng cường đi vào hoạt động", "en": "Surge step in service"},
    "icu_demand": {"vi": "Bệnh nhân cần hồi sức tích cực (tầng 3)", "en": "Patients needing ICU (tier 3)"},
    "icu_staffed": {"vi": "Giường ICU có đủ nhân lực", "en": "ICU beds with enough health staff"},
    "icu_overflow": {"vi": "Thiếu giường ICU (quá tải)", "en": "Without an ICU bed (overflow)"},
    "oxygen_demand": {"vi": "Nhu cầu oxy", "en": "Oxygen demand"},
    "oxygen_supply": {"vi": "Nguồn cung oxy", "en": "Oxygen supply"},
    "oxygen_unmet": {"vi": "Thiếu oxy", "en": "Unmet demand"},
    "cylinders_axis": {"vi": "Bình oxy/ngày (bình {cyl})", "en": "Cylinders/day ({cyl} cylinder)"},
    "no_data": {"vi": "Không có dữ liệu trong kết quả", "en": "Not in the results"},
    "source": {"vi": "Nguồn", "en": "Source"},
    "source_body": {
        "vi": "mô hình scenarios {version}; cấu hình «{config}»{file}; chạy ngày {created}; "
        "mô hình {engine}, seed {seed}; bộ ngưỡng: {thresholds}",
        "en": "scenarios {version}; config “{config}”{file}; run on {created}; engine {engine}, "
        "seed {seed}; thresholds: {thresholds}",
    },
    "median_band": {"vi": "trung vị và khoảng 5-95%", "en": "median and 5-95% range"},
    "people": {"vi": "người", "en": "people"},
    "beds_unit": {"vi": "giường", "en": "beds"},
    "patients": {"vi": "bệnh nhân", "en": "patients"},
}

_ENGINES = {
    "seir": {"vi": "SEIR theo tuổi", "en": "age-structured SEIR"},
    "abm": {"vi": "dựa trên cá thể (ABM)", "en": "agent-based"},
}

#: Indicator name -> (label, unit) by language, as the plans write them.
INDICATOR_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "cases_7d_per_100k": {
        "vi": ("Số ca mắc mới trong 7 ngày trên 100.000 dân", "ca/100.000 dân"),
        "en": ("New cases in the last 7 days per 100,000 population", "cases per 100,000"),
    },
    "oxygen_patients_7d_avg_per_100k": {
        "vi": ("Bệnh nhân cần thở oxy, trung bình 7 ngày, trên 100.000 dân", "bệnh nhân/100.000 dân"),
        "en": ("Patients needing oxygen, 7-day average, per 100,000 population", "patients per 100,000"),
    },
    "free_covid_beds_per_100k": {
        "vi": ("Giường trống điều trị COVID-19 trên 100.000 dân", "giường/100.000 dân"),
        "en": ("Free beds for COVID-19 patients per 100,000 population", "beds per 100,000"),
    },
    "staffed_icu_beds_per_100k": {
        "vi": ("Giường hồi sức tích cực (ICU) có đủ nhân lực trên 100.000 dân", "giường/100.000 dân"),
        "en": ("ICU beds with enough health staff per 100,000 population", "beds per 100,000"),
    },
    "free_staffed_icu_beds_per_100k": {
        "vi": (
            "Giường hồi sức tích cực (ICU) có đủ nhân lực còn trống trên 100.000 dân",
            "giường/100.000 dân",
        ),
        "en": ("Free ICU beds with enough health staff per 100,000 population", "beds per 100,000"),
    },
    "deaths_7d_per_100k": {
        "vi": ("Số ca tử vong trong 7 ngày trên 100.000 dân", "ca tử vong/100.000 dân"),
        "en": ("Deaths in the last 7 days per 100,000 population", "deaths per 100,000"),
    },
}

# Units as written in results attrs -> Vietnamese.
_UNITS_VI: dict[str, str] = {
    "people": "người",
    "people/day": "người/ngày",
    "beds": "giường",
    "patients": "bệnh nhân",
    "m3/day": "m³/ngày",
    "m3": "m³",
    "cylinders/day": "bình/ngày",
    "t/day": "tấn/ngày",
    "1": "",
    "cases per 100,000 per 7 days": "ca/100.000 dân/7 ngày",
    "patients per 100,000": "bệnh nhân/100.000 dân",
    "beds per 100,000": "giường/100.000 dân",
    "deaths per 100,000 per 7 days": "ca tử vong/100.000 dân/7 ngày",
    "days": "ngày",
    "deaths": "ca tử vong",
}
_UNITS_EN: dict[str, str] = {"m3/day": "m³/day", "m3": "m³", "1": ""}

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _t(key: str, lang: Lang) -> str:
    return _T[key][lang]


def _check_lang(lang: str) -> Lang:
    if lang not in ("vi", "en"):
        raise ValueError(f"lang must be 'vi' or 'en' (got {lang!r})")
    return lang  # type: ignore[return-value]


def unit_label(units: str, lang: Lang) -> str:
    """Units of a results variable as written on an axis in ``lang``."""
    table = _UNITS_VI if lang == "vi" else _UNITS_EN
    return table.get(units, units)


def variable_label(ds: xr.Dataset, name: str, lang: Lang) -> str:
    """Label of a variable: ``long_name_vi``/``long_name`` from its attrs, else from the results schema."""
    if name in INDICATOR_LABELS:
        return INDICATOR_LABELS[name][lang][0]
    attrs = ds[name].attrs if name in ds else {}
    key = "long_name_vi" if lang == "vi" else "long_name"
    text = str(attrs.get(key) or VARIABLES.get(name, {}).get(key) or attrs.get("long_name", name))
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------------------------------------------
# Numbers and dates


def format_number(x: float, lang: Lang = "vi", decimals: int | None = None) -> str:
    """Format a number with the thousands and decimal separators of ``lang``.

    Parameters
    ----------
    x : float
        The number.
    lang : {"vi", "en"}
        ``"vi"``: dot for thousands, comma for decimals (``1.234,5``); ``"en"``: ``1,234.5``.
    decimals : int, optional
        Digits after the decimal sign; default 0 from 100 up, 1 from 10, 2 below.

    Examples
    --------
    >>> format_number(1234.5, "vi", 1), format_number(1234.5, "en", 1)
    ('1.234,5', '1,234.5')
    >>> format_number(3683601, "vi")
    '3.683.601'
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if decimals is None:
        ax = abs(x)
        decimals = 0 if ax >= 100 or ax == int(ax) else 1 if ax >= 10 else 2
    text = f"{x:,.{decimals}f}"
    if text.startswith("-"):
        text = "−" + text[1:]
    if lang == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def format_date(d: Any, lang: Lang = "vi") -> str:
    """Format a date: dd/mm/yyyy in Vietnamese, ``15 Jan 2027`` in English (no locale involved).

    Examples
    --------
    >>> format_date("2027-01-05", "vi"), format_date("2027-01-05", "en")
    ('05/01/2027', '05 Jan 2027')
    """
    if d is None or (not isinstance(d, str) and pd.isna(d)):
        return "—"
    ts = pd.Timestamp(d)
    if lang == "vi":
        return f"{ts.day:02d}/{ts.month:02d}/{ts.year}"
    return f"{ts.day:02d} {_MONTHS_EN[ts.month - 1]} {ts.year}"


def _number_formatter(lang: Lang):
    from matplotlib.ticker import FuncFormatter

    def fmt(x: float, _pos: int | None = None) -> str:
        if x == 0:
            return "0"
        decimals = 0 if abs(x) >= 10 or float(x).is_integer() else (1 if abs(x) >= 1 else 2)
        decimals = min(decimals, len(f"{abs(x):.{decimals}f}".rstrip("0").partition(".")[2]))
        return format_number(float(x), lang, decimals)

    return FuncFormatter(fmt)


def _date_axis(ax: Axes, lang: Lang, maxticks: int = 8, time: Sequence | None = None) -> None:
    import matplotlib.dates as mdates
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=maxticks))
    if time is not None and len(time):
        ax.set_xlim(time[0], time[-1])
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos=None: format_date(mdates.num2date(x), lang)))
    for label in ax.get_xticklabels():
        label.set_rotation(0)


# ---------------------------------------------------------------------------------------------------
# Data helpers


def _single(da: xr.DataArray, name: str) -> xr.DataArray:
    da = over_ages(da)
    extra = [d for d in da.dims if d != "time"]
    if extra:
        raise ValueError(
            f"{name!r} has dimensions {extra} besides time: pass one run (e.g. ds.isel(replicate=0)) "
            "or use plots.compare for several"
        )
    return da


def _series(ds: xr.Dataset, name: str) -> xr.DataArray | None:
    """One run's daily series of ``name`` (summed over age), or None when absent."""
    if name not in ds:
        return None
    return _single(ds[name], name)


def _require(ds: xr.Dataset, names: Iterable[str], figure: str) -> None:
    missing = [n for n in names if n not in ds]
    if missing:
        raise ValueError(
            f"plots.{figure} needs the results variables {', '.join(missing)}, which this Dataset does not "
            "have (results of a run with the care module)"
        )


def _times(ds: xr.Dataset) -> np.ndarray:
    return pd.to_datetime(ds["time"].values).to_pydatetime()


def threshold_set(ds: xr.Dataset) -> ThresholdSet:
    """Return the threshold set a run used (see :func:`scenarios.indicators.run_threshold_set`)."""
    return _ind.run_threshold_set(ds)


def measures(ds: xr.Dataset) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """List the contact measures in force during a run: dated interventions and triggered policies.

    Returns
    -------
    list of (name, first day, last day)
        Dated ``[[interventions]]`` clipped to the run, and each period a ``contacts`` policy was in force
        (``policy_in_force``), in date order.
    """
    t0, t1 = pd.Timestamp(ds["time"].values[0]), pd.Timestamp(ds["time"].values[-1])
    out = []
    try:
        config = json.loads(ds.attrs.get("config_json") or "{}")
    except ValueError:
        config = {}
    if config:
        for iv in config.get("interventions", []):
            start = pd.Timestamp(iv.get("start_date") or t0)
            end = pd.Timestamp(iv.get("end_date") or t1)
            if end >= t0 and start <= t1:
                out.append((str(iv.get("name", "")), max(start, t0), min(end, t1)))
    if "policy_in_force" in ds and "policy" in ds["policy_in_force"].dims:
        pif = ds["policy_in_force"]
        extra = [d for d in pif.dims if d not in ("time", "policy")]
        if not extra:
            times = pd.to_datetime(ds["time"].values)
            action = {p.get("name"): p.get("action") for p in config.get("policies", [])}
            for name in pif["policy"].values:
                # Surge steps and booster campaigns are not contact measures (surge steps show on the
                # capacity figures).
                if action.get(str(name), "contacts") != "contacts":
                    continue
                on = np.nan_to_num(pif.sel(policy=name).values) > 0
                edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(int), [0]])))
                for a, b in zip(edges[::2], edges[1::2], strict=True):
                    out.append((str(name), times[a], times[b - 1]))
    return sorted(out, key=lambda m: m[1])


def _shade_measures(ax: Axes, ds: xr.Dataset, lang: Lang) -> None:
    for name, start, end in measures(ds):
        span = ax.axvspan(
            start.to_pydatetime(),
            (end + pd.Timedelta(days=1)).to_pydatetime(),
            color="#999999",
            alpha=0.13,
            linewidth=0,
            label=f"{_t('measure', lang)}: {name} ({format_date(start, lang)}–{format_date(end, lang)})",
            zorder=0,
        )
        span.set_gid("measure")


def _criteria_rows(table: pd.DataFrame, indicator: str) -> pd.DataFrame:
    return table[(table["kind"] == "criterion") & (table["indicator"] == indicator)]


# ---------------------------------------------------------------------------------------------------
# Figure scaffolding


def _figsize(size: PageSize) -> tuple[float, float]:
    if isinstance(size, tuple):
        return size
    if size == "a4-landscape":
        return A4_LANDSCAPE
    if size == "a4-portrait":
        return A4_PORTRAIT
    raise ValueError(f"size must be 'a4-landscape', 'a4-portrait' or (width, height) in inches (got {size!r})")


def _new_figure(size: PageSize) -> Figure:
    from matplotlib.figure import Figure

    w, h = _figsize(size)
    fig = Figure(figsize=(w, h), dpi=100)
    fig.set_layout_engine("constrained")  # room for the source line is set by _decorate
    return fig


def _vietnam_date(stamp: str) -> str:
    """Calendar date in Vietnam (UTC+7, no daylight saving) of an ISO timestamp; as is when it has no zone."""
    try:
        ts = pd.Timestamp(stamp)
    except ValueError:
        return stamp[:10]
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None) + pd.Timedelta(hours=7)
    return ts.strftime("%Y-%m-%d")


def source_line(ds: xr.Dataset, lang: Lang = "vi") -> str:
    """Return the "Source:" line under every figure: version, config, date run, engine, seed, thresholds."""
    a = ds.attrs
    created = a.get("created", "")
    created = format_date(_vietnam_date(created), lang) if created else "—"
    path = a.get("config_path", "")
    file = f" ({Path(path).name})" if path else ""
    overrides = a.get("overrides", "{}")
    if overrides and overrides != "{}":
        try:
            changed = json.loads(overrides)
            file += (" + " if lang == "en" else " + thay đổi: ") + ", ".join(f"{k}={v}" for k, v in changed.items())
        except ValueError:
            pass
    engine = _ENGINES.get(a.get("engine", ""), {}).get(lang, a.get("engine", "—"))
    try:
        ts_name = threshold_set(ds).name
    except (ValueError, OSError):  # pragma: no cover - defensive
        ts_name = "—"
    body = _t("source_body", lang).format(
        version=a.get("version", "—"),
        config=a.get("scenario_name", "—"),
        file=file,
        created=created,
        engine=engine,
        seed=a.get("seed", "—"),
        thresholds=ts_name,
    )
    return f"{_t('source', lang)}: {body}"


def _decorate(
    fig: Figure,
    ds: xr.Dataset | None,
    title: str,
    lang: Lang,
    subtitle: str | None = None,
    source: str | None = None,
) -> None:
    w, h = fig.get_size_inches()
    if subtitle is None and ds is not None:
        subtitle = _subtitle(ds, lang)
    lines = _wrap(title, w, 13.5) + (_wrap(subtitle, w, 11) if subtitle else [])
    fig.suptitle("\n".join(lines), fontsize=13.5, x=0.01, ha="left")
    text = source if source is not None else (source_line(ds, lang) if ds is not None else "")
    source_lines = _wrap(text, w, 7.5)
    fig.text(
        0.01,
        0.008,
        "\n".join(source_lines),
        fontsize=7.5,
        color=_C["grey"],
        ha="left",
        va="bottom",
        gid="source",
    )
    # Keep the axes clear of the source line (constrained layout does not see figure texts).
    bottom = (len(source_lines) * 7.5 * 1.3 / 72 + 0.1) / h
    fig.get_layout_engine().set(rect=(0.0, bottom, 1.0, 1.0 - bottom))  # (left, bottom, width, height)


def _wrap(text: str, width_in: float, points: float) -> list[str]:
    """Wrap ``text`` to the width of the page at a font size (DejaVu Sans: about 0.55 em per character)."""
    return textwrap.wrap(text, max(20, int((width_in - 0.3) * 72 / (points * 0.56))))


def _subtitle(ds: xr.Dataset, lang: Lang) -> str:
    a = ds.attrs
    name = a.get("scenario_name", "")
    area = a.get("area_name", "")
    pop = a.get("population_total")
    pop_text = ""
    if pop is not None and pop != "":
        pop_text = f", {format_number(float(pop), lang, 0)} " + ("dân" if lang == "vi" else "people")
    where = f"{area}{pop_text}" if area else ""
    return f"{name} ({where})" if name and where else name or where


def _legend(ax: Axes, **kw: Any) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(loc=kw.pop("loc", "upper left"), framealpha=0.9, **kw)


def _rc():
    import matplotlib as mpl

    return mpl.rc_context(_RC)


def _vline(ax: Axes, date: Any, colour: str, label: str | None, gid: str, style: str = "--") -> None:
    if date is None or pd.isna(date):
        return
    line = ax.axvline(pd.Timestamp(date).to_pydatetime(), color=colour, linestyle=style, linewidth=1.4, label=label)
    line.set_gid(gid)


def _threshold_line(ax: Axes, row: pd.Series, lang: Lang) -> None:
    op, value = row["operator"], float(row["threshold"])
    label = f"{_t('threshold', lang)}: {op} {format_number(value, lang)}"
    line = ax.axhline(value, color=_C["threshold"], linestyle="--", linewidth=1.6, label=label)
    line.set_gid("threshold")


def _crossing_marker(ax: Axes, row: pd.Series, lang: Lang, y: float | None = None) -> None:
    if pd.isna(row["first_date"]):
        ax.text(
            0.99,
            0.97,
            _t("met_from_start" if row.get("status") == "met from the start" else "not_crossed", lang),
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=9.5,
            color=_C["grey"],
        )
        return
    date = pd.Timestamp(row["first_date"]).to_pydatetime()
    yv = float(row["threshold"]) if y is None else y
    (marker,) = ax.plot(
        [date],
        [yv],
        marker="o",
        markersize=8,
        color=_C["threshold"],
        linestyle="none",
        label=f"{_t('crossed', lang)}: {format_date(date, lang)}",
        zorder=5,
    )
    marker.set_gid("crossing")
    line = ax.axvline(date, color=_C["threshold"], linestyle=":", linewidth=1.2)
    line.set_gid("crossing_line")
    ax.annotate(
        format_date(date, lang),
        (date, yv),
        xytext=(8, 10),
        textcoords="offset points",
        fontsize=9.5,
        color=_C["threshold"],
        fontweight="bold",
    )


def _indicator_figure(ds: xr.Dataset, indicator: str, title_key: str, lang: Lang, size: PageSize) -> Figure:
    lang = _check_lang(lang)
    values = _ind.indicators_from_results(ds)[indicator]
    values = _single(values, indicator)
    table = _ind.crossings(ds)
    with _rc():
        fig = _new_figure(size)
        ax = fig.add_subplot()
        label, unit = INDICATOR_LABELS[indicator][lang]
        ax.plot(_times(ds), values.values, color=_C["series"], linewidth=2, label=label, gid="series")
        _shade_measures(ax, ds, lang)
        rows = _criteria_rows(table, indicator)
        for _, row in rows.iterrows():
            _threshold_line(ax, row, lang)
            _crossing_marker(ax, row, lang)
        if np.isnan(values.values).all():
            ax.text(0.5, 0.5, _t("no_data", lang), transform=ax.transAxes, ha="center", color=_C["grey"])
        ax.set_ylabel(unit)
        ax.set_xlabel(_t("date", lang))
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(_number_formatter(lang))
        _date_axis(ax, lang, time=_times(ds))
        _legend(ax)
        _decorate(fig, ds, _t(title_key, lang), lang)
    return fig


# ---------------------------------------------------------------------------------------------------
# The figures


def cases(ds: xr.Dataset, lang: Lang = "vi", size: PageSize = "a4-landscape") -> Figure:
    """Draw reported cases in the last 7 days per 100,000, the plan's threshold and its crossing date.

    Parameters
    ----------
    ds : xarray.Dataset
        Results of one run (``new_reported_cases`` or ``cases_7d_per_100k``, and ``population_total``).
    lang : {"vi", "en"}
        Language of every label; Vietnamese by default.
    size : {"a4-landscape", "a4-portrait"} or (width, height)
        Page size (inches for a tuple).

    Returns
    -------
    matplotlib.figure.Figure
        The threshold line has gid ``"threshold"``, the crossing marker gid ``"crossing"``.

    Examples
    --------
    >>> import scenarios
    >>> ds = scenarios.run("configs/phong_tho_new_variant.toml")
    >>> fig = scenarios.plots.cases(ds, lang="vi")
    >>> fig.axes[0].get_ylabel()
    'ca/100.000 dân'
    """
    return _indicator_figure(ds, "cases_7d_per_100k", "cases_title", lang, size)


def oxygen_patients(ds: xr.Dataset, lang: Lang = "vi", size: PageSize = "a4-landscape") -> Figure:
    """Patients needing oxygen (7-day average) per 100,000 against the plan's threshold.

    Parameters and returns as :func:`cases`; needs ``needing_oxygen`` (or the indicator) in ``ds``.
    """
    return _indicator_figure(ds, "oxygen_patients_7d_avg_per_100k", "oxygen_patients_title", lang, size)


def _first_exceed(times: np.ndarray, demand: np.ndarray, capacity: np.ndarray, tol: float = 1e-6) -> Any:
    over = demand > capacity + tol * np.maximum(1.0, capacity)
    idx = np.flatnonzero(over)
    return pd.Timestamp(times[idx[0]]) if idx.size else None


def _step_ups(capacity: np.ndarray) -> np.ndarray:
    """Days capacity jumps up (a surge step comes into service): more than 0.5 and 2% in one day."""
    prev, jump = capacity[:-1], np.diff(capacity)
    return np.flatnonzero((jump > 0.5) & (jump > 0.02 * np.abs(prev))) + 1


def _mark_steps(ax: Axes, t: Sequence, capacity: np.ndarray, steps: np.ndarray, unit: str, lang: Lang) -> None:
    """Draw a dash-dot line and "+N unit" where a surge step comes into service."""
    for i, k in enumerate(steps):
        added = capacity[k] - capacity[k - 1]
        line = ax.axvline(
            t[k],
            color=_C["surge"],
            linestyle="-.",
            linewidth=1.2,
            label=_t("surge_step", lang) if i == 0 else None,
        )
        line.set_gid("surge")
        ax.annotate(
            f"+{format_number(added, lang, 0)} {unit}",
            (t[k], capacity[k]),
            xytext=(4, 6),
            textcoords="offset points",
            fontsize=9,
            color=_C["surge"],
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
        )


def beds(ds: xr.Dataset, lang: Lang = "vi", size: PageSize = "a4-landscape") -> Figure:
    """Tier-2 oxygen-bed demand against available beds, with surge steps and the day beds run out.

    Demand is every patient who needs a tier-2 oxygen bed on the date: ``census_oxygen + unmet_oxygen``
    (in a bed, or needing one and not having it). Surge steps show where available beds step up. Beds run
    out on the first date demand exceeds the beds available.

    Parameters
    ----------
    ds : xarray.Dataset
        Results of one run with ``census_oxygen``, ``unmet_oxygen`` and ``beds_oxygen_available``.
    lang, size
        As :func:`cases`.

    Returns
    -------
    matplotlib.figure.Figure
        Lines with gids ``"demand"``, ``"capacity"``, ``"beds_run_out"`` and ``"surge"`` (one per step).
    """
    lang = _check_lang(lang)
    _require(ds, ["census_oxygen", "unmet_oxygen", "beds_oxygen_available"], "beds")
    t = _times(ds)
    demand = (_series(ds, "census_oxygen") + _series(ds, "unmet_oxygen")).values
    avail = _series(ds, "beds_oxygen_available").values
    run_out = _first_exceed(ds["time"].values, demand, avail)
    steps = _step_ups(avail)
    with _rc():
        fig = _new_figure(size)
        ax = fig.add_subplot()
        ax.plot(t, demand, color=_C["series"], linewidth=2, label=_t("tier2_demand", lang), gid="demand")
        ax.plot(t, avail, color=_C["capacity"], linewidth=2, label=_t("beds_available", lang), gid="capacity")
        ax.fill_between(
            t,
            avail,
            demand,
            where=demand > avail,
            color=_C["overflow"],
            alpha=0.25,
            interpolate=True,
            label=_t("overflow_short", lang),
        )
        _mark_steps(ax, t, avail, steps, _t("beds_unit", lang), lang)
        if run_out is not None:
            _vline(
                ax,
                run_out,
                _C["overflow"],
                f"{_t('beds_run_out', lang)}: {format_date(run_out, lang)}",
                "beds_run_out",
            )
        else:
            ax.text(
                0.99,
                0.97,
                _t("beds_enough", lang),
                transform=ax.transAxes,
                ha="right",
                va="top",
                color=_C["grey"],
                fontsize=9.5,
            )
        ax.set_ylabel("giường / bệnh nhân" if lang == "vi" else "beds / patients")
        ax.set_xlabel(_t("date", lang))
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(_number_formatter(lang))
        _date_axis(ax, lang, time=_times(ds))
        _legend(ax)
        _decorate(fig, ds, _t("beds_title", lang), lang)
    return fig


def icu(ds: xr.Dataset, lang: Lang = "vi", size: PageSize = "a4-landscape") -> Figure:
    """ICU demand against staffed ICU beds, with the overflow shaded.

    Demand is ``census_icu + unmet_icu`` (critical patients in ICU or needing it without a bed); capacity
    is ``icu_staffed_available`` (ICU beds with enough health staff on the date).

    Parameters
    ----------
    ds : xarray.Dataset
        Results of one run with ``census_icu``, ``unmet_icu`` and ``icu_staffed_available``.
    lang, size
        As :func:`cases`.

    Returns
    -------
    matplotlib.figure.Figure
        Lines with gids ``"demand"``, ``"capacity"``; the shaded overflow has gid ``"overflow"``.
    """
    lang = _check_lang(lang)
    _require(ds, ["census_icu", "unmet_icu", "icu_staffed_available"], "icu")
    t = _times(ds)
    demand = (_series(ds, "census_icu") + _series(ds, "unmet_icu")).values
    cap = _series(ds, "icu_staffed_available").values
    first = _first_exceed(ds["time"].values, demand, cap)
    with _rc():
        fig = _new_figure(size)
        ax = fig.add_subplot()
        ax.plot(t, demand, color=_C["series"], linewidth=2, label=_t("icu_demand", lang), gid="demand")
        ax.plot(t, cap, color=_C["capacity"], linewidth=2, label=_t("icu_staffed", lang), gid="capacity")
        _mark_steps(ax, t, cap, _step_ups(cap), _t("beds_unit", lang), lang)
        poly = ax.fill_between(
            t,
            cap,
            demand,
            where=demand > cap,
            color=_C["overflow"],
            alpha=0.3,
            interpolate=True,
            label=_t("icu_overflow", lang),
        )
        poly.set_gid("overflow")
        if first is not None:
            _vline(
                ax,
                first,
                _C["overflow"],
                f"{_t('overflow_short', lang)}: {format_date(first, lang)}",
                "overflow_date",
                style=":",
            )
        ax.set_ylabel("giường / bệnh nhân" if lang == "vi" else "beds / patients")
        ax.set_xlabel(_t("date", lang))
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(_number_formatter(lang))
        _date_axis(ax, lang, time=_times(ds))
        _legend(ax)
        _decorate(fig, ds, _t("icu_title", lang), lang)
    return fig


def _m3_per_cylinder(ds: xr.Dataset) -> float:
    """Gas in one cylinder (m³), from the run's own demand in m³ and in cylinders, else from its config."""
    if "oxygen_demand_cylinders_per_day" in ds and "oxygen_demand_m3_per_day" in ds:
        m3 = _series(ds, "oxygen_demand_m3_per_day").values
        cyl = _series(ds, "oxygen_demand_cylinders_per_day").values
        ok = cyl > 0
        if ok.any():
            return float(np.median(m3[ok] / cyl[ok]))
    from .capacity import cylinder_m3
    from .config.health import Oxygen

    oxygen = Oxygen()
    if ds.attrs.get("config_json"):
        try:
            oxygen = Oxygen.model_validate(json.loads(ds.attrs["config_json"]).get("oxygen", {}))
        except ValueError:
            pass
    return cylinder_m3(oxygen)


def _cylinder_text(ds: xr.Dataset, lang: Lang) -> str:
    from .config.health import Oxygen

    oxygen = Oxygen()
    if ds.attrs.get("config_json"):
        try:
            oxygen = Oxygen.model_validate(json.loads(ds.attrs["config_json"]).get("oxygen", {}))
        except ValueError:
            pass
    litres = format_number(oxygen.cylinder_water_litres, lang, 0)
    bar = format_number(oxygen.cylinder_pressure_bar, lang, 0)
    return f"{litres} L, {bar} bar"


def oxygen(ds: xr.Dataset, lang: Lang = "vi", size: PageSize = "a4-landscape") -> Figure:
    """Oxygen demand against supply in m³/day, cylinders/day on the right axis, unmet demand shaded.

    Parameters
    ----------
    ds : xarray.Dataset
        Results of one run with ``oxygen_demand_m3_per_day`` and ``oxygen_supply_m3_per_day``.
    lang, size
        As :func:`cases`.

    Returns
    -------
    matplotlib.figure.Figure
        Lines with gids ``"demand"`` and ``"supply"``; the shaded unmet demand has gid ``"unmet"``. The
        right axis converts m³ to cylinders of the run's size (``oxygen`` config section).
    """
    lang = _check_lang(lang)
    _require(ds, ["oxygen_demand_m3_per_day", "oxygen_supply_m3_per_day"], "oxygen")
    t = _times(ds)
    demand = _series(ds, "oxygen_demand_m3_per_day").values
    supply = _series(ds, "oxygen_supply_m3_per_day").values
    per_cyl = _m3_per_cylinder(ds)
    m3 = "m³/ngày" if lang == "vi" else "m³/day"
    with _rc():
        fig = _new_figure(size)
        ax = fig.add_subplot()
        ax.plot(t, demand, color=_C["series"], linewidth=2, label=_t("oxygen_demand", lang), gid="demand")
        ax.plot(t, supply, color=_C["capacity"], linewidth=2, label=_t("oxygen_supply", lang), gid="supply")
        _mark_steps(ax, t, supply, _step_ups(supply), "m³/ngày" if lang == "vi" else "m³/day", lang)
        poly = ax.fill_between(
            t,
            supply,
            demand,
            where=demand > supply,
            color=_C["overflow"],
            alpha=0.3,
            interpolate=True,
            label=_t("oxygen_unmet", lang),
        )
        poly.set_gid("unmet")
        peak = int(np.argmax(demand))
        ax.annotate(
            f"{format_number(demand[peak], lang, 0)} {m3}\n"
            f"≈ {format_number(demand[peak] / per_cyl, lang, 0)} " + ("bình/ngày" if lang == "vi" else "cylinders/day"),
            (t[peak], demand[peak]),
            xytext=(14, 4),
            textcoords="offset points",
            fontsize=9.5,
            color=_C["series"],
            va="bottom",
            bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
        )
        ax.set_ylabel(m3)
        ax.set_xlabel(_t("date", lang))
        ax.set_ylim(bottom=0, top=max(float(np.nanmax(demand)), float(np.nanmax(supply)), 1.0) * 1.15)
        ax.yaxis.set_major_formatter(_number_formatter(lang))
        sec = ax.secondary_yaxis("right", functions=(lambda x: x / per_cyl, lambda c: c * per_cyl))
        sec.set_ylabel(_t("cylinders_axis", lang).format(cyl=_cylinder_text(ds, lang)))
        sec.yaxis.set_major_formatter(_number_formatter(lang))
        sec.set_gid("cylinders_axis")
        _date_axis(ax, lang, time=_times(ds))
        _legend(ax)
        _decorate(fig, ds, _t("oxygen_title", lang), lang)
    return fig


def _panel_title(indicator: str, lang: Lang) -> str:
    return textwrap.fill(INDICATOR_LABELS[indicator][lang][0], 48)


def dashboard(ds: xr.Dataset, lang: Lang = "vi", size: PageSize = "a4-portrait") -> Figure:
    """One page with every criterion of the plan, the activation date and the lead time to overflow.

    One panel per criterion of the run's threshold set: the indicator, its threshold (gid
    ``"threshold"``), the days it is met shaded, the plan's activation date (gid ``"activation"``) and
    the first overflow date (gid ``"overflow"``). A box on top states the activation date, the first
    criterion met, the first overflow date and the lead time between them.

    Parameters
    ----------
    ds : xarray.Dataset
        Results of one run.
    lang : {"vi", "en"}
        Language.
    size : {"a4-portrait", "a4-landscape"} or (width, height)
        Page size; portrait by default (a whole annex page).

    Returns
    -------
    matplotlib.figure.Figure
    """
    lang = _check_lang(lang)
    table = _ind.crossings(ds)
    values = _ind.indicators_from_results(ds)
    crit = table[table["kind"] == "criterion"].reset_index(drop=True)
    act_date = table.attrs.get("activation_date", pd.NaT)
    ovf_date = table.attrs.get("overflow_date", pd.NaT)
    lead = table.attrs.get("lead_days", pd.NA)
    first = table.attrs.get("first_criterion")
    t = _times(ds)
    with _rc():
        fig = _new_figure(size)
        n = len(crit)
        ncols = 2 if n > 1 else 1
        nrows = math.ceil(n / ncols)
        grid = fig.add_gridspec(nrows + 1, ncols, height_ratios=[0.32 * 2 / max(nrows, 1)] + [1.0] * nrows)
        box = fig.add_subplot(grid[0, :])
        box.axis("off")
        box.set_gid("summary")
        if pd.isna(act_date):
            lines = [_t("not_activated", lang)]
        else:
            first_text = ", ".join(_criterion_label(c, crit, lang) for c in (first or "").split(", ") if c)
            lines = [
                f"{_t('activation', lang)}: {format_date(act_date, lang)}"
                + (f" ({_t('first_criterion', lang)}: {first_text})" if first_text else "")
            ]
        at_start = crit[crit["status"] == "met from the start"]
        for _, r in at_start.iterrows():
            lines.append(_t("met_at_start", lang).format(criterion=_criterion_label(r["criterion"], crit, lang)))
        lines.append(
            f"{_t('overflow_first', lang)}: {format_date(ovf_date, lang)}"
            if not pd.isna(ovf_date)
            else _t("no_overflow", lang)
        )
        if not pd.isna(act_date) and not pd.isna(lead):
            lines.append(f"{_t('lead_time', lang)}: {format_number(int(lead), lang, 0)} {_t('days', lang)}")
        w = fig.get_size_inches()[0]
        lines = [part for line in lines for part in _wrap(line, w - 0.6, 11.5)]
        box.text(
            0.0,
            0.95,
            "\n".join(lines),
            transform=box.transAxes,
            va="top",
            ha="left",
            fontsize=11.5,
            linespacing=1.7,
            bbox={"boxstyle": "round,pad=0.6", "facecolor": "#f3f3f3", "edgecolor": "#bbbbbb"},
        )
        for i, row in crit.iterrows():
            ax = fig.add_subplot(grid[1 + i // ncols, i % ncols])
            ind = row["indicator"]
            v = _single(values[ind], ind).values
            ax.plot(t, v, color=_C["series"], linewidth=1.8, gid="series")
            _threshold_line(ax, row, lang)
            met = _met_flags(v, row)
            if met.any():
                ax.fill_between(
                    t,
                    0,
                    1,
                    where=met,
                    transform=ax.get_xaxis_transform(),
                    color=_C["met"],
                    alpha=0.18,
                    step="mid",
                    label=_t("met_days", lang),
                )
            if np.isnan(v).all():
                ax.text(0.5, 0.5, _t("no_data", lang), transform=ax.transAxes, ha="center", color=_C["grey"])
            _vline(ax, act_date, _C["activation"], _t("activation", lang), "activation")
            _vline(ax, ovf_date, _C["overflow"], _t("overflow_short", lang), "overflow", style=":")
            ax.set_title(
                f"{_panel_title(ind, lang)}\n{_t('threshold', lang)}: {row['operator']} "
                f"{format_number(float(row['threshold']), lang)}",
                fontsize=10,
                loc="left",
            )
            ax.set_ylabel(INDICATOR_LABELS[ind][lang][1], fontsize=9.5)
            ax.set_ylim(bottom=0)
            ax.yaxis.set_major_formatter(_number_formatter(lang))
            _date_axis(ax, lang, maxticks=5, time=t)
            ax.tick_params(labelsize=8.5)
            if i == 0:
                first_ax = ax
        handles = _dashboard_legend(lang, not pd.isna(act_date), not pd.isna(ovf_date))
        if n % ncols:  # an empty slot: the legend goes there, larger
            slot = fig.add_subplot(grid[1 + n // ncols, n % ncols])
            slot.axis("off")
            legend = slot.legend(handles=handles, loc="center left", fontsize=10, frameon=False)
            legend.set_in_layout(False)
        elif n:
            first_ax.legend(handles=handles, loc="best", fontsize=8, framealpha=0.9)
        _decorate(
            fig,
            ds,
            _t("dashboard_title", lang) + f" — {threshold_set(ds).title or threshold_set(ds).name}",
            lang,
        )
    return fig


def _dashboard_legend(lang: Lang, activated: bool, overflow: bool) -> list:
    """Legend entries shared by the dashboard's panels."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Line2D([], [], color=_C["series"], linewidth=1.8, label=_t("indicator", lang)),
        Line2D([], [], color=_C["threshold"], linestyle="--", linewidth=1.6, label=_t("threshold", lang)),
        Patch(color=_C["met"], alpha=0.18, label=_t("met_days", lang)),
    ]
    if activated:
        handles.append(Line2D([], [], color=_C["activation"], linestyle="--", label=_t("activation", lang)))
    if overflow:
        handles.append(Line2D([], [], color=_C["overflow"], linestyle=":", label=_t("overflow_day", lang)))
    return handles


def _criterion_label(name: str, crit: pd.DataFrame, lang: Lang) -> str:
    rows = crit[crit["criterion"] == name]
    if not len(rows):
        return name
    ind = rows.iloc[0]["indicator"]
    return INDICATOR_LABELS[ind][lang][0] if ind in INDICATOR_LABELS else name


def _met_flags(v: np.ndarray, row: pd.Series) -> np.ndarray:
    holds = _ind.compare(v, row["operator"], float(row["threshold"]))
    return _ind.sustained(holds, int(row["sustained_days"]))


def _ensemble_crossings(
    ax: Axes, ds: xr.Dataset, variable: str, label: str, colour: str, lang: Lang, drawn: set
) -> None:
    """Mark the median crossing date of a run with replicates, with the earliest-latest range as a bar."""
    table = _ind.crossings(ds)
    rows = _criteria_rows(table, variable)
    for (op, value), group in rows.groupby(["operator", "threshold"], sort=False):
        if (op, float(value)) not in drawn:
            _threshold_line(ax, group.iloc[0], lang)
            drawn.add((op, float(value)))
        dates = pd.to_datetime(group["first_date"]).dropna()
        if dates.empty:
            continue
        x = _mdates_num(dates)
        mid, lo, hi = float(np.median(x)), float(x.min()), float(x.max())
        share = f"{len(dates)}/{len(group)}"
        text = (
            f"{_t('crossed', lang)} ({label}, {share}): {format_date(_num_to_date(mid), lang)} "
            f"({format_date(_num_to_date(lo), lang)} – {format_date(_num_to_date(hi), lang)})"
        )
        bar = ax.errorbar(
            [mid],
            [float(value)],
            xerr=[[mid - lo], [hi - mid]],
            fmt="o",
            markersize=8,
            color=colour,
            capsize=5,
            zorder=5,
            label=text,
        )
        bar.lines[0].set_gid(f"crossing:{label}")


def _mdates_num(dates: pd.Series) -> np.ndarray:
    """Matplotlib date numbers (days since 1970-01-01) of timestamps, without importing matplotlib."""
    return (pd.to_datetime(dates).values.astype("datetime64[s]").astype(float)) / 86400.0


def _num_to_date(x: float) -> pd.Timestamp:
    return pd.Timestamp(round(x * 86400), unit="s").normalize()


def _run_label(ds: xr.Dataset, lang: Lang) -> str:
    engine = ds.attrs.get("engine", "")
    name = ds.attrs.get("scenario_name", "run")
    return f"{name} ({_ENGINES.get(engine, {}).get(lang, engine)})" if engine else name


def compare(
    runs: Mapping[str, xr.Dataset] | Sequence[xr.Dataset],
    variable: str = "cases_7d_per_100k",
    lang: Lang = "vi",
    size: PageSize = "a4-landscape",
    title: str | None = None,
) -> Figure:
    """Two or more runs on the same axes: what-ifs, or the SEIR and agent-based engines.

    Parameters
    ----------
    runs : mapping of label to Dataset, sequence of Datasets, or Dataset with a ``scenario`` dim
        The runs; a sequence is labelled by each run's scenario name and engine, the results of
        :func:`scenarios.sweep` by scenario. A run with replicates is drawn as its median with a 5-95%
        band and its crossing dates as median and range.
    variable : str
        A plan indicator (:data:`INDICATOR_LABELS`, e.g. ``"cases_7d_per_100k"``; the threshold line and
        each run's crossing date are drawn) or a results variable (summed over ``age_group``).
    lang, size
        As :func:`cases`.
    title : str, optional
        Figure title; default the variable's label.

    Returns
    -------
    matplotlib.figure.Figure
        One line per run (gid ``"run:<label>"``); crossing markers have gid ``"crossing:<label>"``.
    """
    lang = _check_lang(lang)
    if isinstance(runs, xr.Dataset):
        if "scenario" not in runs.dims:
            raise TypeError(
                "compare takes two or more runs: a mapping {label: Dataset}, a list of Datasets, or the "
                "results of scenarios.sweep (a 'scenario' dim)"
            )
        items = [(str(s), runs.sel(scenario=s, drop=True)) for s in runs["scenario"].values]
    elif isinstance(runs, Mapping):
        items = list(runs.items())
    else:
        items = [(_run_label(d, lang), d) for d in runs]
    items = [(k, d.isel(replicate=0, drop=True) if d.sizes.get("replicate") == 1 else d) for k, d in items]
    if len(items) < 2:
        raise ValueError("compare needs at least two runs")
    labels = [k for k, _ in items]
    if len(set(labels)) < len(labels):
        items = [(f"{k} [{i + 1}]", d) for i, (k, d) in enumerate(items)]
    is_indicator = variable in INDICATOR_LABELS
    with _rc():
        fig = _new_figure(size)
        ax = fig.add_subplot()
        thresholds_drawn: set[tuple[str, float]] = set()
        unit = ""
        for j, (label, ds) in enumerate(items):
            colour = _RUN_COLOURS[j % len(_RUN_COLOURS)]
            if is_indicator:
                da = _ind.indicators_from_results(ds)[variable]
                unit = INDICATOR_LABELS[variable][lang][1]
            else:
                if variable not in ds:
                    raise ValueError(f"run {label!r} has no variable {variable!r}")
                da = ds[variable]
                unit = unit_label(str(da.attrs.get("units", "")), lang)
            da = over_ages(da)
            t = pd.to_datetime(ds["time"].values).to_pydatetime()
            extra = [d for d in da.dims if d != "time"]
            if extra:
                stacked = da.stack(_r=extra).transpose("time", "_r").values
                with warnings.catch_warnings():  # days before a 7-day window exists are NaN in every replicate
                    warnings.simplefilter("ignore", RuntimeWarning)
                    mid = np.nanmedian(stacked, axis=1)
                    lo, hi = np.nanpercentile(stacked, [5, 95], axis=1)
                ax.fill_between(
                    t,
                    lo,
                    hi,
                    color=colour,
                    alpha=0.18,
                    linewidth=0,
                    label=f"{label}: {_t('median_band', lang)}",
                )
                y = mid
            else:
                y = da.values
            ax.plot(t, y, color=colour, linewidth=2, label=None if extra else label, gid=f"run:{label}")
            if is_indicator and extra:
                _ensemble_crossings(ax, ds, variable, label, colour, lang, thresholds_drawn)
            if is_indicator and not extra:
                rows = _criteria_rows(_ind.crossings(ds), variable)
                for _, row in rows.iterrows():
                    key = (row["operator"], float(row["threshold"]))
                    if key not in thresholds_drawn:
                        _threshold_line(ax, row, lang)
                        thresholds_drawn.add(key)
                    if not pd.isna(row["first_date"]):
                        d = pd.Timestamp(row["first_date"]).to_pydatetime()
                        (m,) = ax.plot(
                            [d],
                            [float(row["threshold"])],
                            marker="o",
                            markersize=8,
                            color=colour,
                            linestyle="none",
                            zorder=5,
                            label=f"{_t('crossed', lang)} ({label}): {format_date(d, lang)}",
                        )
                        m.set_gid(f"crossing:{label}")
        ax.set_ylabel(unit)
        ax.set_xlabel(_t("date", lang))
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(_number_formatter(lang))
        span = [pd.Timestamp(d["time"].values[i]) for _, d in items for i in (0, -1)]
        _date_axis(ax, lang, time=[min(span).to_pydatetime(), max(span).to_pydatetime()])
        _legend(ax)
        heading = title or (
            INDICATOR_LABELS[variable][lang][0] if is_indicator else variable_label(items[0][1], variable, lang)
        )
        first_ds = items[0][1]
        subtitle = _t("compare_title", lang) + ": " + "; ".join(k for k, _ in items)
        sources = " | ".join(f"{k}: {source_line(d, lang).split(': ', 1)[1]}" for k, d in items)
        _decorate(
            fig,
            first_ds,
            heading,
            lang,
            subtitle=textwrap.shorten(subtitle, 160),
            source=f"{_t('source', lang)}: {sources}",
        )
    return fig


#: The figures of a report, in annex order: name -> function.
FIGURES = {
    "dashboard": dashboard,
    "cases": cases,
    "oxygen_patients": oxygen_patients,
    "beds": beds,
    "icu": icu,
    "oxygen": oxygen,
}

Format = Literal["png", "pdf", "svg"]


def to_bytes(fig: Figure, fmt: Format = "svg", dpi: int = 300) -> bytes:
    """Render a figure to PNG, PDF or SVG bytes with the module's settings (text kept as text).

    Use this or :func:`save` rather than ``fig.savefig``: the settings that keep text as text in SVG
    and embed TrueType fonts in PDF apply at save time.
    """
    import io

    if fmt not in ("png", "pdf", "svg"):
        raise ValueError(f"format must be png, pdf or svg (got {fmt!r})")
    buf = io.BytesIO()
    with _rc():
        fig.savefig(buf, format=fmt, dpi=dpi if fmt == "png" else None)
    return buf.getvalue()


def save(
    fig: Figure, path: str | Path, formats: Sequence[Format] = ("png", "pdf", "svg"), dpi: int = 300
) -> list[Path]:
    """Write a figure as PNG (``dpi``, 300 by default), PDF and SVG, each file atomically.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        A figure from this module.
    path : str or Path
        File path without suffix (a suffix given is replaced): ``report/cases`` writes ``report/cases.png``...
    formats : sequence of {"png", "pdf", "svg"}
        Formats to write.
    dpi : int
        Resolution of the PNG.

    Returns
    -------
    list of Path
        The files written.
    """
    path = Path(path)
    out = []
    title = fig.get_suptitle() if hasattr(fig, "get_suptitle") else ""
    for fmt in formats:
        if fmt not in ("png", "pdf", "svg"):
            raise ValueError(f"format must be png, pdf or svg (got {fmt!r})")
        target = path.with_suffix(f".{fmt}")
        meta = {"Title": title.split("\n")[0]} if fmt in ("pdf", "svg", "png") else {}
        if fmt == "svg":
            meta = {"Title": meta["Title"], "Date": None}
        elif fmt == "pdf":
            meta = {"Title": meta["Title"], "Creator": "scenarios (matplotlib)", "CreationDate": None}

        def write(tmp: Path, fmt: str = fmt, meta: dict = meta) -> None:
            with _rc():
                fig.savefig(tmp, format=fmt, dpi=dpi if fmt == "png" else None, metadata=meta)

        out.append(write_atomic(target, write))
    return out
