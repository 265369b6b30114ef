"""Numbers, dates, labels and the page: what every figure shares (font, sizes, title, source line, saving)."""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
import xarray as xr

from ..results import VARIABLES, write_atomic
from ._data import threshold_set
from ._words import _MONTHS_EN, _UNITS_EN, _UNITS_VI, INDICATOR_LABELS, Lang, _t, engine_label

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PageSize = Literal["a4-landscape", "a4-portrait", "column"] | tuple[float, float]

#: The named figure sizes.
SIZES = ("a4-landscape", "a4-portrait", "column")
Format = Literal["png", "pdf", "svg"]

#: A4 in inches (210 x 297 mm).
A4_LANDSCAPE = (297 / 25.4, 210 / 25.4)
A4_PORTRAIT = (210 / 25.4, 297 / 25.4)
#: A Word page column: 16 cm wide (A4 less 2.5 cm margins); 11 cm high, 21 cm for a whole-page figure.
COLUMN = (16 / 2.54, 11 / 2.54)
COLUMN_TALL = (16 / 2.54, 21 / 2.54)

#: Smallest text in any figure (points): readable when printed at the figure's own size.
MIN_POINTS = 8.0
#: Blank border of an A4 page, so a printer does not clip it: the figure is drawn inside it and the
#: border is added when the page is saved (:func:`page_bbox`).
MARGIN_IN = 10 / 25.4

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


def unit_label(units: str | Mapping[str, Any], lang: Lang) -> str:
    """Units of a results variable as written on an axis in ``lang``.

    ``units`` is a unit as people write it (``"people/day"``) or a variable's attrs, whose ``units_label``
    (beside the UDUNITS ``units``) is the one shown.
    """
    if isinstance(units, Mapping):
        units = str(units.get("units_label", units.get("units", "")))
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


def _figsize(size: PageSize, tall: bool = False) -> tuple[float, float]:
    if isinstance(size, tuple):
        return size
    if size == "column":
        return COLUMN_TALL if tall else COLUMN
    if size in ("a4-landscape", "a4-portrait"):
        w, h = A4_LANDSCAPE if size == "a4-landscape" else A4_PORTRAIT
        return w - 2 * MARGIN_IN, h - 2 * MARGIN_IN
    raise ValueError(
        f"size must be 'a4-landscape', 'a4-portrait', 'column' or (width, height) in inches (got {size!r})"
    )


#: Text sizes of a 16 cm column figure: it is printed at its own size, so nothing under MIN_POINTS.
_RC_COLUMN = {
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
}


def _is_narrow(fig: Figure) -> bool:
    return fig.get_size_inches()[0] < 7.0


def _new_figure(size: PageSize, tall: bool = False) -> Figure:
    """Make a figure of ``size``; call it inside ``with _rc():``, whose settings it narrows for a column."""
    import matplotlib as mpl
    from matplotlib.figure import Figure

    w, h = _figsize(size, tall)
    if w < 7.0:
        mpl.rcParams.update(_RC_COLUMN)  # restored when the caller's rc_context ends
    fig = Figure(figsize=(w, h), dpi=100)
    fig.page_margin = MARGIN_IN if size in ("a4-landscape", "a4-portrait") else 0.0  # read by page_bbox
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
    engine = engine_label(a.get("engine", "—"), lang)
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
        seed=_seed_text(ds, lang),
        thresholds=ts_name,
    )
    return f"{_t('source', lang)}: {body}"


def _seed_text(ds: xr.Dataset, lang: Lang) -> str:
    """Return the seed, and for many runs how many were spawned from it (one seed does not describe them all)."""
    seed = str(ds.attrs.get("seed", "—"))
    n = int(ds.sizes.get("replicate", 1)) * int(ds.sizes.get("scenario", 1))
    if n > 1:
        return seed + (f", sinh {n} lần chạy" if lang == "vi" else f", spawning {n} runs")
    return seed


def _decorate(
    fig: Figure,
    ds: xr.Dataset | None,
    title: str,
    lang: Lang,
    subtitle: str | None = None,
    source: str | None = None,
) -> None:
    w, h = fig.get_size_inches()
    title_pt, sub_pt = (10.5, 9) if _is_narrow(fig) else (13.5, 11)
    if subtitle is None and ds is not None:
        subtitle = _subtitle(ds, lang)
    lines = _wrap(title, w, title_pt) + (_wrap(subtitle, w, sub_pt) if subtitle else [])
    fig.suptitle("\n".join(lines), fontsize=title_pt, x=0.01, ha="left")
    text = source if source is not None else (source_line(ds, lang) if ds is not None else "")
    source_lines = _wrap(text, w, MIN_POINTS)
    fig.text(
        0.01,
        0.008,
        "\n".join(source_lines),
        fontsize=MIN_POINTS,
        color=_C["grey"],
        ha="left",
        va="bottom",
        gid="source",
    )
    # Keep the axes clear of the source line (constrained layout does not see figure texts).
    bottom = (len(source_lines) * MIN_POINTS * 1.3 / 72 + 0.1) / h
    fig.get_layout_engine().set(rect=(0.0, bottom, 1.0, 1.0 - bottom))  # (left, bottom, width, height)


def page_bbox(fig: Figure) -> Any:
    """Return the ``bbox_inches`` that saves an A4 figure as a whole A4 page with its blank border.

    None for other figures (saved at their own size).
    """
    from matplotlib.transforms import Bbox

    m = getattr(fig, "page_margin", 0.0)
    if not m:
        return None
    w, h = fig.get_size_inches()
    return Bbox.from_extents(-m, -m, w + m, h + m)


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
        fig.savefig(buf, format=fmt, dpi=dpi if fmt == "png" else None, bbox_inches=page_bbox(fig))
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
                fig.savefig(
                    tmp, format=fmt, dpi=dpi if fmt == "png" else None, metadata=meta, bbox_inches=page_bbox(fig)
                )

        out.append(write_atomic(target, write))
    return out
