"""Annex figures: every figure for every shipped config in both languages, threshold lines at the configured
values, crossing markers at the crossing dates, Vietnamese text (with diacritics) kept as text in SVG and PDF,
A4 at 300 dpi, and no matplotlib at ``import scenarios``."""

from __future__ import annotations

import io
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest

import scenarios
from scenarios import plots
from scenarios.config.surge import load_threshold_set

from ._synthetic_results import N_DAYS, POPULATION, expected_first_crossing, rolling7, synthetic_results
from .conftest import CONFIGS, ROOT

SHIPPED = sorted(p.name for p in CONFIGS.glob("*.toml"))
THRESHOLD_DIR = ROOT / "src" / "scenarios" / "data" / "thresholds"

TITLES = {
    "vi": {
        "dashboard": "Các tiêu chí kích hoạt phương án ứng phó",
        "cases": "Số ca mắc mới trong 7 ngày trên 100.000 dân",
        "oxygen_patients": "Bệnh nhân cần thở oxy (trung bình 7 ngày) trên 100.000 dân",
        "beds": "Giường điều trị có oxy (tầng 2)",
        "icu": "Giường hồi sức tích cực (ICU) có đủ nhân lực",
        "oxygen": "Oxy y tế: nhu cầu và nguồn cung",
    },
    "en": {
        "dashboard": "Surge-plan activation criteria",
        "cases": "New cases in the last 7 days per 100,000 population",
        "oxygen_patients": "Patients needing oxygen (7-day average) per 100,000 population",
        "beds": "Oxygen beds (tier 2): demand vs available beds",
        "icu": "ICU: demand vs ICU beds with enough health staff",
        "oxygen": "Medical oxygen: demand vs supply",
    },
}
SOURCE = {"vi": "Nguồn:", "en": "Source:"}


@cache
def shipped_run(name: str):
    """A real run of a shipped config (short horizon keeps the suite fast; 150 days reach the crossings)."""
    cfg = scenarios.load_config(CONFIGS / name, overrides={"scenario.horizon_days": 150})
    return scenarios.run(cfg)


def svg_text(fig) -> str:
    """All text of the figure as rendered into SVG (svg.fonttype 'none' keeps text as <text> elements)."""
    root = ET.fromstring(plots.to_bytes(fig, "svg"))
    text = " ".join("".join(el.itertext()) for el in root.iter() if el.tag.endswith("text"))
    return " ".join(text.split())  # wrapped lines joined


def pdf_text(fig_or_path) -> str:
    import pypdf

    if isinstance(fig_or_path, Path):
        reader = pypdf.PdfReader(fig_or_path)
    else:
        reader = pypdf.PdfReader(io.BytesIO(plots.to_bytes(fig_or_path, "pdf")))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def by_gid(fig, gid: str) -> list:
    return [a for ax in fig.axes for a in ax.get_children() if a.get_gid() == gid]


# ---------------------------------------------------------------------------------------------------
# Every figure, every shipped config, both languages


def _check_render(config: str, lang: str) -> None:
    ds = shipped_run(config)
    for name, draw in plots.FIGURES.items():
        fig = draw(ds, lang=lang)
        text = svg_text(fig)
        assert TITLES[lang][name] in text, (config, lang, name)
        assert SOURCE[lang] in text and ds.attrs["version"] in text
        assert ds.attrs["scenario_name"].split(" — ")[0] in text  # subtitle names the area/scenario


# The default run renders a province, a small area and the textbook config; the rest of the matrix (every
# shipped config in both languages, ~4 s each) is marked slow and runs in CI.
FAST = {
    ("an_giang_new_variant.toml", "vi"),
    ("phong_tho_new_variant.toml", "vi"),
    ("homogeneous_r0_2.5.toml", "en"),
}
MATRIX = [
    pytest.param(c, lang, marks=() if (c, lang) in FAST else pytest.mark.slow, id=f"{c}-{lang}")
    for c in SHIPPED
    for lang in ("vi", "en")
]


@pytest.mark.parametrize(("config", "lang"), MATRIX)
def test_every_figure_renders_for_every_shipped_config_in_both_languages(config, lang):
    _check_render(config, lang)


def test_compare_renders_for_shipped_what_ifs():
    runs = {"baseline": shipped_run("an_giang.toml"), "new variant": shipped_run("an_giang_new_variant.toml")}
    for lang in ("vi", "en"):
        text = svg_text(plots.compare(runs, lang=lang))
        assert "baseline" in text and "new variant" in text and SOURCE[lang] in text


# ---------------------------------------------------------------------------------------------------
# Threshold lines and crossing dates


@pytest.mark.parametrize("set_name", ["provincial_3984", "small_area_phongtho"])
@pytest.mark.parametrize(
    ("figure", "indicator", "criterion"),
    [
        ("cases", "cases_7d_per_100k", "cases"),
        ("oxygen_patients", "oxygen_patients_7d_avg_per_100k", "oxygen"),
    ],
)
def test_threshold_line_at_configured_value_and_marker_at_crossing_date(set_name, figure, indicator, criterion):
    # The configured value, read from the shipped TOML itself (not from the code under test).
    crit = {c["name"]: c for c in tomllib.loads((THRESHOLD_DIR / f"{set_name}.toml").read_text())["criteria"]}
    value, op = float(crit[criterion]["value"]), crit[criterion]["operator"]
    ds = synthetic_results(threshold_set=set_name)
    fig = getattr(plots, figure)(ds, lang="vi")
    (line,) = by_gid(fig, "threshold")
    assert np.all(np.asarray(line.get_ydata(), float) == value)
    # Independent indicator: 7-day sum (cases) or 7-day mean (oxygen patients) per 100,000.
    if indicator == "cases_7d_per_100k":
        series = rolling7(ds["new_reported_cases"].sum("age_group").values) * 1e5 / POPULATION
    else:
        series = rolling7(ds["needing_oxygen"].sum("age_group").values) / 7 * 1e5 / POPULATION
    day = expected_first_crossing(series, op, value)
    assert day is not None and 6 < day < N_DAYS
    (marker,) = by_gid(fig, "crossing")
    expected = mdates.date2num(pd.Timestamp(ds.time.values[day]).to_pydatetime())
    assert mdates.date2num(marker.get_xdata()[0]) == pytest.approx(expected)
    assert marker.get_ydata()[0] == value
    # The date is written on the figure as dd/mm/yyyy.
    assert plots.format_date(ds.time.values[day], "vi") in svg_text(fig)


def test_no_crossing_no_marker_and_a_note():
    ds = synthetic_results(peak=0.05)
    fig = plots.cases(ds, lang="vi")
    assert by_gid(fig, "crossing") == [] and len(by_gid(fig, "threshold")) == 1
    assert "Không vượt ngưỡng trong thời gian mô phỏng" in svg_text(fig)


def test_dashboard_has_each_criterion_of_the_runs_threshold_set():
    ds = shipped_run("phong_tho_new_variant.toml")  # the shipped config names the small-area set
    expected = load_threshold_set("small_area_phongtho")
    fig = plots.dashboard(ds, lang="vi")
    values = sorted(float(line.get_ydata()[0]) for line in by_gid(fig, "threshold"))
    assert values == sorted(c.value for c in expected.criteria)  # 100, 10, 5: no ICU criterion in this plan
    table = scenarios.indicators.crossings(ds)
    act = table.attrs["activation_date"]
    text = svg_text(fig)
    assert "Ngày kích hoạt phương án" in text
    if not pd.isna(act):
        lines = by_gid(fig, "activation")
        assert lines and all(mdates.date2num(ln.get_xdata()[0]) == mdates.date2num(act.to_pydatetime()) for ln in lines)
        assert plots.format_date(act, "vi") in text


def test_dashboard_states_activation_overflow_and_lead_time():
    ds = synthetic_results()
    table = scenarios.indicators.crossings(ds)
    fig = plots.dashboard(ds, lang="vi")
    text = svg_text(fig)
    act, ovf, lead = (table.attrs[k] for k in ("activation_date", "overflow_date", "lead_days"))
    assert not pd.isna(act) and not pd.isna(ovf)
    assert f"Ngày kích hoạt phương án: {plots.format_date(act, 'vi')}" in text
    assert plots.format_date(ovf, "vi") in text
    assert f"Thời gian từ kích hoạt đến quá tải: {int(lead)} ngày" in text
    assert (ovf - act).days == int(lead)


# ---------------------------------------------------------------------------------------------------
# Beds, ICU, oxygen


def test_beds_run_out_date_and_surge_step():
    ds = synthetic_results(surge_day=80)
    fig = plots.beds(ds, lang="en")
    demand = (ds.census_oxygen + ds.unmet_oxygen).sum("age_group").values
    beds = ds.beds_oxygen_available.values
    first = int(np.flatnonzero(demand > beds)[0])  # independent: first day demand exceeds beds
    (run_out,) = by_gid(fig, "beds_run_out")
    assert mdates.date2num(run_out.get_xdata()[0]) == mdates.date2num(pd.Timestamp(ds.time.values[first]))
    (surge,) = by_gid(fig, "surge")
    assert mdates.date2num(surge.get_xdata()[0]) == mdates.date2num(pd.Timestamp(ds.time.values[80]))
    text = svg_text(fig)
    assert "+20 beds" in text and f"Beds run out: {plots.format_date(ds.time.values[first], 'en')}" in text


def test_icu_overflow_shaded_exactly_where_demand_exceeds_staffed_beds():
    ds = synthetic_results()
    fig = plots.icu(ds, lang="vi")
    demand = (ds.census_icu + ds.unmet_icu).sum("age_group").values
    cap = ds.icu_staffed_available.values
    over = np.flatnonzero(demand > cap)
    (poly,) = by_gid(fig, "overflow")
    xs = np.concatenate([p.vertices[:, 0] for p in poly.get_paths()])
    t = mdates.date2num(pd.to_datetime(ds.time.values).to_pydatetime())
    # The shaded area lies between the days just outside the overflow (interpolated crossing points).
    assert xs.min() >= t[over[0] - 1] and xs.max() <= t[over[-1] + 1]
    assert xs.min() < t[over[0]] + 1e-9 and xs.max() > t[over[-1]] - 1e-9
    (capacity,) = by_gid(fig, "capacity")
    np.testing.assert_array_equal(capacity.get_ydata(), cap)


def test_oxygen_secondary_axis_is_cylinders_of_the_configured_size():
    ds = synthetic_results()
    fig = plots.oxygen(ds, lang="vi")
    ax = fig.axes[0]
    sec = next(c for c in ax.child_axes if c.get_gid() == "cylinders_axis")
    fig.savefig(io.BytesIO(), format="png", dpi=30)  # draw: the secondary axis takes its limits
    lo, hi = ax.get_ylim()
    m3_per_cylinder = 40 * 150 / 1.01325 / 1000  # 40 L at 150 bar, ideal gas
    assert sec.get_ylim() == pytest.approx((lo / m3_per_cylinder, hi / m3_per_cylinder))
    text = svg_text(fig)
    assert "Bình oxy/ngày (bình 40 L, 150 bar)" in text and "m³/ngày" in text


def test_single_run_figures_refuse_an_ensemble_with_a_clear_message():
    ds = synthetic_results()
    import xarray as xr

    both = xr.concat([ds, ds], dim="replicate")
    with pytest.raises(ValueError, match="replicate"):
        plots.beds(both)


def test_figures_need_care_variables_and_say_which():
    ds = synthetic_results().drop_vars(["icu_staffed_available"])
    with pytest.raises(ValueError, match="icu_staffed_available"):
        plots.icu(ds)


# ---------------------------------------------------------------------------------------------------
# Comparison of runs


def test_compare_marks_each_runs_crossing_date_and_one_threshold():
    a, b = synthetic_results(peak=1.0), synthetic_results(peak=0.6)
    fig = plots.compare({"A": a, "B": b}, lang="en")
    assert len(by_gid(fig, "threshold")) == 1
    for label, ds in (("A", a), ("B", b)):
        series = rolling7(ds["new_reported_cases"].sum("age_group").values) * 1e5 / POPULATION
        day = expected_first_crossing(series, ">", 450.0)
        (m,) = by_gid(fig, f"crossing:{label}")
        assert mdates.date2num(m.get_xdata()[0]) == mdates.date2num(pd.Timestamp(ds.time.values[day]))
        assert by_gid(fig, f"run:{label}")
    with pytest.raises(ValueError, match="at least two"):
        plots.compare([a])


def test_compare_draws_replicates_as_a_band():
    import xarray as xr

    a = xr.concat([synthetic_results(peak=p) for p in (0.8, 1.0, 1.2)], dim="replicate")
    b = synthetic_results(peak=0.6)
    fig = plots.compare({"ABM": a, "SEIR": b}, variable="needing_oxygen", lang="vi")
    (line,) = by_gid(fig, "run:ABM")
    expected = np.median(a["needing_oxygen"].sum("age_group").values, axis=0)
    np.testing.assert_allclose(line.get_ydata(), expected)
    # Three runs are too few for a 5-95% band: the band is their whole range, and says so.
    assert "trung vị, thấp nhất và cao nhất của 3 lần chạy" in svg_text(fig)
    (band,) = [c for c in fig.axes[0].collections if "3 lần chạy" in str(c.get_label())]
    top = band.get_paths()[0].vertices[:, 1].max()
    assert top == pytest.approx(a["needing_oxygen"].sum("age_group").max())


# ---------------------------------------------------------------------------------------------------
# Language, numbers, dates, fonts, files


VI_STRINGS = [
    "Số ca mắc mới trong 7 ngày trên 100.000 dân",
    "Bệnh nhân cần thở oxy, trung bình 7 ngày, trên 100.000 dân",
    "Giường hồi sức tích cực (ICU) có đủ nhân lực",
    "Ngày kích hoạt phương án",
    "Nguồn:",
    "Ngưỡng của phương án",
]


def test_vietnamese_strings_with_diacritics_in_svg_and_pdf():
    ds = synthetic_results()
    fig = plots.dashboard(ds, lang="vi")
    svg, pdf = svg_text(fig), pdf_text(fig)
    for s in VI_STRINGS:
        assert s in svg, s
        assert s in pdf, s
    # dd/mm/yyyy dates and dot thousands separators on the axes
    assert "01/03/2027" in svg and "1.000" in svg


def test_english_figures_have_no_vietnamese_labels():
    ds = synthetic_results(name="Test province — new variant")
    ds.attrs["area_name"] = "Test province"
    figs = [plots.dashboard(ds, lang="en"), plots.oxygen(ds, lang="en"), plots.beds(ds, lang="en")]
    text = " ".join(svg_text(f) for f in figs)
    assert "Plan activation date" in text and "Source:" in text and "1,000" in text
    # Axis labels, tick labels, legends and panel titles (the threshold set's own title is a proper name).
    labels = []
    for fig in figs:
        for ax in fig.axes:
            labels += [ax.get_xlabel(), ax.get_ylabel(), ax.get_title(loc="left")]
            labels += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
            legend = ax.get_legend()
            labels += [t.get_text() for t in legend.get_texts()] if legend else []
    joined = " ".join(labels)
    assert "Date" in joined and "Plan threshold" in joined
    assert not any(ch in joined for ch in "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ")


def test_text_is_set_in_a_font_with_vietnamese_glyphs():
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    fig = plots.cases(synthetic_results(), lang="vi")
    title = fig.get_suptitle()
    path = font_manager.findfont(font_manager.FontProperties(family=fig._suptitle.get_fontfamily()))
    assert Path(path).name.startswith("DejaVuSans")
    font = FT2Font(path)
    charmap = font.get_charmap()
    missing = {ch for ch in title + "".join(VI_STRINGS) if not ch.isspace() and ord(ch) not in charmap}
    assert not missing


def test_number_and_date_formats():
    assert plots.format_number(1234.5, "vi", 1) == "1.234,5"
    assert plots.format_number(1234.5, "en", 1) == "1,234.5"
    assert plots.format_number(0.25, "vi") == "0,25"
    assert plots.format_number(-3000, "vi") == "−3.000"
    assert plots.format_date("2027-02-21", "vi") == "21/02/2027"
    assert plots.format_date(pd.NaT, "vi") == "—"
    with pytest.raises(ValueError, match="lang"):
        plots.cases(synthetic_results(), lang="fr")


def test_save_writes_a4_png_at_300_dpi_pdf_and_svg(tmp_path):
    from PIL import Image

    fig = plots.cases(synthetic_results(), lang="vi")
    paths = plots.save(fig, tmp_path / "cases")
    assert sorted(p.name for p in paths) == ["cases.pdf", "cases.png", "cases.svg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cases.pdf",
        "cases.png",
        "cases.svg",
    ]  # no temp files
    with Image.open(tmp_path / "cases.png") as im:
        assert im.size[0] == pytest.approx(297 / 25.4 * 300, abs=1)  # 3508 x 2480 px
        assert im.size[1] == pytest.approx(210 / 25.4 * 300, abs=1)
        assert im.info["dpi"] == pytest.approx((300, 300), abs=0.01)
    portrait = plots.dashboard(synthetic_results(), lang="vi")
    # Drawn inside a 10 mm border, which saving adds back: the page is A4.
    assert tuple(portrait.get_size_inches()) == pytest.approx((190 / 25.4, 277 / 25.4))
    import pypdf

    box = pypdf.PdfReader(tmp_path / "cases.pdf").pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx((297 / 25.4 * 72, 210 / 25.4 * 72), abs=0.5)


def test_library_does_not_import_matplotlib_or_use_pyplot():
    code = (
        "import sys, scenarios; assert 'matplotlib' not in sys.modules; "
        "from scenarios import plots; assert 'matplotlib' not in sys.modules; "
        "import sys; sys.path.insert(0, '.'); from tests._synthetic_results import synthetic_results; "
        "plots.cases(synthetic_results()); "
        "print('matplotlib' in sys.modules, 'matplotlib.pyplot' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["True", "False"]
    assert scenarios.plots is plots and "plots" in scenarios.__all__


def test_contact_measures_are_shaded_over_their_dates():
    ds = shipped_run("ha_noi_new_variant.toml")  # re-applies 5K from 01/02/2027 to 14/03/2027 (inclusive)
    fig = plots.cases(ds, lang="vi")
    (span,) = by_gid(fig, "measure")
    x0, x1 = span.get_x(), span.get_x() + span.get_width()  # a Rectangle in data x, axes y
    assert x0 == mdates.date2num(pd.Timestamp("2027-02-01"))
    assert x1 == mdates.date2num(pd.Timestamp("2027-03-15"))
    assert (
        "Biện pháp: áp dụng lại 5K, hạn chế tụ tập (re-apply 5K, limit gatherings) (01/02/2027–14/03/2027)"
        in svg_text(fig)
    )
    # A triggered policy in force from day 50 to day 69 is shaded too.
    import xarray as xr

    syn = synthetic_results()
    on = np.zeros((syn.sizes["time"], 1))
    on[50:70] = 1
    syn["policy_in_force"] = xr.DataArray(on, dims=("time", "policy"), coords={"policy": ["re-apply 5K"]})
    ((name, start, end),) = plots.measures(syn)
    assert (name, start, end) == (
        "re-apply 5K",
        pd.Timestamp(syn.time.values[50]),
        pd.Timestamp(syn.time.values[69]),
    )


def test_compare_marks_the_median_and_range_of_replicate_crossing_dates():
    import xarray as xr

    peaks = (0.7, 1.0, 1.4)
    reps = xr.concat([synthetic_results(peak=p) for p in peaks], dim="replicate")
    fig = plots.compare({"ABM": reps, "SEIR": synthetic_results()}, lang="vi")
    days = []
    for p in peaks:
        series = rolling7(synthetic_results(peak=p)["new_reported_cases"].sum("age_group").values) * 1e5 / POPULATION
        days.append(expected_first_crossing(series, ">", 450.0))
    dates = [pd.Timestamp(reps.time.values[d]) for d in days]
    (marker,) = by_gid(fig, "crossing:ABM")
    assert float(marker.get_xdata()[0]) == pytest.approx(mdates.date2num(sorted(dates)[1]))  # date numbers
    text = svg_text(fig)
    assert f"Vượt ngưỡng (ABM, 3/3): {plots.format_date(sorted(dates)[1], 'vi')}" in text
    assert f"({plots.format_date(min(dates), 'vi')} – {plots.format_date(max(dates), 'vi')})" in text


def test_source_line_names_config_version_engine_seed_and_the_vietnam_date_of_the_run():
    ds = synthetic_results()
    ds.attrs["created"] = "2026-11-23T18:30:00+00:00"  # 01:30 on 24/11 in Vietnam (UTC+7)
    line = plots.source_line(ds, "vi")
    assert line.startswith("Nguồn: mô hình scenarios 0.1.0; cấu hình «Tỉnh thử nghiệm — biến chủng mới»")
    assert "(test_province.toml)" in line and "chạy ngày 24/11/2026" in line and "seed 0" in line
    assert "chạy ngày 24/11/2026" in svg_text(plots.icu(ds, lang="vi"))
    assert "run on 24 Nov 2026" in plots.source_line(ds, "en")


def test_compare_takes_the_results_of_a_sweep_by_scenario():
    import xarray as xr

    runs = [synthetic_results(peak=p).expand_dims(replicate=[0]) for p in (1.0, 0.6)]
    swept = xr.concat(runs, dim=pd.Index(["as shipped", "less escape"], name="scenario"))
    fig = plots.compare(swept, lang="en")
    assert by_gid(fig, "run:as shipped") and by_gid(fig, "run:less escape")
    assert len(by_gid(fig, "crossing:as shipped")) == 1  # one replicate: drawn as a single run
    with pytest.raises(TypeError, match="scenario"):
        plots.compare(synthetic_results())


@pytest.mark.parametrize("name", ["Ngân sách $5 đến $10", r"broken $\frac{1}{$ TeX", "x" * 200])
def test_names_are_plain_text_in_figures(name):
    ds = synthetic_results().assign_attrs(scenario_name=name)
    fig = plots.dashboard(ds, lang="vi")
    text = svg_text(fig)
    assert name[:40] in text.replace("\n", " ") or name[:40] in "".join(text.split())


def test_a_name_longer_than_a_page_is_refused_by_the_config():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="at most 200"):
        scenarios.config.Scenario(name="x" * 30_000, start_date="2026-01-01", horizon_days=10)


def test_dashboard_reports_a_criterion_met_from_the_start_as_a_finding():
    """Default ICU capacity is below the plan's 4 per 100k: a note, not the activation on day 0."""
    cfg = scenarios.load_config(CONFIGS / "homogeneous_r0_2.5.toml", {"scenario.horizon_days": 120})
    ds = scenarios.run(cfg)
    text = svg_text(plots.dashboard(ds, lang="en"))
    assert "is met from the first day" in text.replace("\n", " ")
    table = scenarios.crossings(ds).set_index("criterion")
    assert table.loc["icu", "status"] == "met from the start"
    assert table.loc["activation", "first_day"] > 0
