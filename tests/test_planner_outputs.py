"""What a planner gets: the terminal answer in their language, Word and Excel annexes that equal the CSVs,
CSVs Excel reads, column-wide figures with no text under 8 pt, reports per language, uncertainty bands."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from scenarios import plots, report
from scenarios.cli import main
from scenarios.results import write_netcdf
from scenarios.summary import run_out_dates, summary

from ._synthetic_results import synthetic_results

CODE_NAMES = re.compile(r"\b[a-z]+(_[a-z0-9]+)+\b")  # cases_7d_per_100k, peak_icu_need, ...


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_results()


def _first_above(ds, need, capacity):
    total = sum(ds[v].sum("age_group").values if "age_group" in ds[v].dims else ds[v].values for v in need)
    over = np.flatnonzero(total > ds[capacity].values + 1e-6)
    return pd.Timestamp(ds.time.values[over[0]]) if over.size else None


def test_run_out_dates_are_each_resources_own_first_day_of_need_above_capacity(synthetic):
    dates = run_out_dates(synthetic)
    assert dates["icu"] == _first_above(synthetic, ["census_icu", "unmet_icu"], "icu_staffed_available")
    assert dates["beds"] == _first_above(synthetic, ["census_oxygen", "unmet_oxygen"], "beds_oxygen_available")
    assert dates["oxygen"] == _first_above(synthetic, ["oxygen_demand_m3_per_day"], "oxygen_supply_m3_per_day")
    assert dates["icu"] is not None and dates["icu"] != dates["beds"]  # the synthetic run has distinct dates


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_summary_gives_each_run_out_date_and_lead_time_in_plain_words(synthetic, lang):
    text = summary(synthetic, lang=lang)
    dates = run_out_dates(synthetic)
    table = report.crossings(synthetic)
    act = table.attrs["activation_date"]
    for name, date in dates.items():
        if date is None:
            continue
        shown = plots.format_date(date, lang)
        assert shown in text, (name, shown)
        lead = (date - act).days
        words = {"vi": "ngày sau khi kích hoạt", "en": "days after activation"}[lang]
        assert f"{abs(lead)} {words}" in text or lead <= 0
    assert not CODE_NAMES.findall(text.replace(f"({table.attrs['threshold_set']})", ""))
    if lang == "vi":
        assert re.search(r"\b\d{2}/\d{2}/\d{4}\b", text) and not re.search(r"\d{4}-\d{2}-\d{2}", text)
        assert "m³/ngày" in text
        assert "Giường hồi sức tích cực (ICU)" in text and "Oxy y tế" in text
    else:
        assert "m³/day" in text
        assert "m3" not in text.replace("m³", "")


def test_cli_summary_follows_lang(tmp_path, capsys):
    from .conftest import CONFIGS

    args = ["run", str(CONFIGS / "phong_tho_new_variant.toml"), "--set", "scenario.horizon_days=40"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    vi = capsys.readouterr().out
    assert main([*args, "--out", str(tmp_path / "b"), "--lang", "en"]) == 0
    en = capsys.readouterr().out
    assert "Số lượt nhiễm" in vi and "Infections:" in en and "Infections:" not in vi
    assert "nhiễm lại" in vi and "infected again counts again" in en  # reinfections said plainly
    assert "Oxy y tế" in vi and "Medical oxygen" in en


def test_version_flag_and_attribute(capsys):
    import scenarios

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"scenarios {scenarios.__version__}"
    assert re.match(r"\d+\.\d+", scenarios.__version__)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    write_netcdf(synthetic_results(), run_dir / "results.nc")
    assert main(["report", str(run_dir), "--dpi", "40"]) == 0
    return run_dir


def test_every_csv_starts_with_a_bom_and_round_trips(bundle):
    csvs = sorted((bundle / "report" / "vi").glob("*.csv"))
    assert {p.name for p in csvs} >= {"crossings.csv", "key_numbers.csv", "actions.csv", "series.csv"}
    for path in csvs:
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), path.name
        df = pd.read_csv(path)
        assert not df.columns[0].startswith("\ufeff")
        df.to_csv(path.with_suffix(".again"), index=False, encoding="utf-8-sig")
        assert pd.read_csv(path.with_suffix(".again")).equals(df)


def test_key_numbers_csv_holds_whole_numbers(bundle):
    df = pd.read_csv(bundle / "report" / "vi" / "key_numbers.csv")
    values = df["value"].dropna()
    assert len(values) and (values == values.round(0)).all()


def test_xlsx_sheets_equal_the_csvs(bundle):
    import openpyxl

    folder = bundle / "report" / "vi"
    wb = openpyxl.load_workbook(folder / "tables.xlsx")
    assert wb.sheetnames == ["crossings", "key_numbers", "actions", "series"]
    for name in wb.sheetnames:
        csv = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
        rows = list(wb[name].iter_rows(values_only=True))
        head, body = list(rows[0]), rows[1 : 1 + len(csv)]
        assert head == list(csv.columns), name
        for got, want in zip(body, csv.itertuples(index=False), strict=True):
            for g, w in zip(got, want, strict=True):
                if hasattr(g, "year"):
                    g = g.strftime("%Y-%m-%d")
                if isinstance(g, float | int) and not isinstance(g, bool) and w != "":
                    assert g == pytest.approx(float(w)), (name, g, w)
                else:
                    assert ("" if g is None else str(g)) == w, (name, g, w)


def test_docx_has_figures_and_tables_equal_to_the_crossings(bundle):
    import docx

    folder = bundle / "report" / "vi"
    doc = docx.Document(folder / "annex.docx")
    assert len(doc.inline_shapes) == len(plots.FIGURES)
    for shape in doc.inline_shapes:
        assert abs(shape.width.cm - 16.0) < 0.05
    captions = [p.text for p in doc.paragraphs if p.text.startswith("Hình ")]
    assert len(captions) == len(plots.FIGURES) and "Hình 1. Các tiêu chí kích hoạt phương án ứng phó" in captions
    cross = pd.read_csv(folder / "crossings.csv")
    table = doc.tables[0]
    cells = [[c.text for c in row.cells] for row in table.rows]
    assert cells[0] == ["Tiêu chí", "Điều kiện", "Ngày đạt đầu tiên", "Số ngày đạt", "Số ngày trước quá tải"]
    assert len(cells) - 1 == len(cross)
    for row, (_, r) in zip(cells[1:], cross.iterrows(), strict=True):
        expected = plots.format_date(r["first_date"], "vi") if isinstance(r["first_date"], str) else "không xảy ra"
        assert row[2] == expected
        assert row[3] == plots.format_number(int(r["days_met"]), "vi", 0)


def test_report_in_english_leaves_the_vietnamese_report_untouched(bundle):
    vi = {p.name: p.read_bytes() for p in (bundle / "report" / "vi").iterdir()}
    assert main(["report", str(bundle), "--lang", "en", "--dpi", "40", "--size", "column"]) == 0
    assert {p.name: p.read_bytes() for p in (bundle / "report" / "vi").iterdir()} == vi
    assert sorted(p.name for p in (bundle / "report").iterdir()) == ["en", "vi"]


def test_annex_pdf_pages_are_a4_with_a_10_mm_blank_border(bundle):
    import pypdf

    for page in pypdf.PdfReader(bundle / "report" / "vi" / "annex.pdf").pages:
        box = page.mediabox
        size = sorted((float(box.width) / 72 * 25.4, float(box.height) / 72 * 25.4))
        assert size == pytest.approx([210, 297], abs=0.5)
    # Everything drawn lies inside the border: the figure drawn is the page less 10 mm on each side.
    fig = plots.cases(synthetic_results())
    w, h = fig.get_size_inches() * 25.4
    assert (w, h) == pytest.approx((277, 190), abs=0.1)
    bbox = fig.get_tightbbox(_renderer(fig))
    assert bbox.x0 >= -0.01 and bbox.y0 >= -0.01 and bbox.x1 <= w / 25.4 + 0.01 and bbox.y1 <= h / 25.4 + 0.01


def _renderer(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _texts(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    FigureCanvasAgg(fig).draw()
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


@pytest.mark.parametrize("name", [*plots.FIGURES])
def test_column_figures_are_16_cm_wide_with_no_text_under_8_pt(synthetic, name):
    fig = plots.FIGURES[name](synthetic, lang="vi", size="column")
    assert fig.get_size_inches()[0] * 2.54 == pytest.approx(16.0)
    texts = _texts(fig)
    assert len(texts) > 5
    small = [(t.get_text()[:40], t.get_fontsize()) for t in texts if t.get_fontsize() < 8 - 1e-9]
    assert not small


def test_indicator_and_care_figures_mark_activation_and_surge_openings(synthetic):
    act = report.crossings(synthetic).attrs["activation_date"]
    for name in ("cases", "oxygen_patients", "beds", "icu", "oxygen", "dashboard"):
        fig = plots.FIGURES[name](synthetic)
        lines = [ln for ax in fig.axes for ln in ax.get_lines()]
        activation = [ln for ln in lines if ln.get_gid() == "activation"]
        assert activation, name
        x = activation[0].get_xdata()[0]
        assert (pd.Timestamp(x) if not isinstance(x, float) else pd.Timestamp(x, unit="D")).date() == act.date()
        if name in ("cases", "oxygen_patients", "dashboard", "beds"):
            assert [ln for ln in lines if ln.get_gid() == "surge"], name


def test_dashboard_title_is_in_the_chosen_language_only(synthetic):
    title = plots.dashboard(synthetic, lang="vi").get_suptitle()
    assert "Province" not in title and "plan" not in title and "after" not in title
    assert title.splitlines()[0] == "Các tiêu chí kích hoạt phương án ứng phó"


def _replicates(n):
    return xr.concat([synthetic_results(peak=0.7 + 0.06 * i) for i in range(n)], dim="replicate")


@pytest.mark.slow  # ten runs' bands and probabilities at 40 dpi
def test_report_of_ten_replicates_draws_bands_and_crossing_probabilities(tmp_path):
    write_netcdf(_replicates(10), tmp_path / "results.nc")
    assert main(["report", str(tmp_path), "--dpi", "40", "--lang", "en"]) == 0
    folder = tmp_path / "report" / "en"
    names = {p.name for p in folder.iterdir()}
    assert {"crossing_probability.png", "bands_cases_7d_per_100k.svg", "annex.docx", "tables.xlsx"} <= names
    ranges = pd.read_csv(folder / "crossing_ranges.csv")
    assert list(ranges.columns) == ["Criterion", "Share of runs crossed", "First date (median)", "5%–95% range"]
    assert ranges["5%–95% range"].str.contains(" – ").all()


def test_bands_state_their_quantiles_and_refuse_fewer_than_ten_runs():
    ds = _replicates(10)
    fig = plots.bands(ds, "cases_7d_per_100k", lang="en")
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert any("5–95% range of 10 runs" in label for label in labels)
    band = [c for c in fig.axes[0].collections if c.get_gid() == "band"]
    assert band
    prob = plots.crossing_probability(ds, lang="vi")
    for line in prob.axes[0].get_lines():
        y = line.get_ydata()
        assert (np.diff(y) >= 0).all() and y.max() <= 100
    with pytest.raises(ValueError, match="at least 10 runs"):
        plots.bands(_replicates(3))


def test_export_writes_the_daily_series_as_csv_or_xlsx(tmp_path, capsys):
    import openpyxl

    ds = synthetic_results()
    write_netcdf(ds, tmp_path / "results.nc")
    assert main(["export", str(tmp_path), "--format", "csv", "--lang", "en"]) == 0
    df = pd.read_csv(tmp_path / "series.csv")
    assert len(df) == ds.sizes["time"] and df.columns[0] == "Date"
    assert "Oxygen need (m³/day)" in df.columns
    assert df["Oxygen need (m³/day)"].tolist() == np.round(ds.oxygen_demand_m3_per_day.values).tolist()
    assert main(["export", str(tmp_path), "--format", "xlsx"]) == 0
    ws = openpyxl.load_workbook(tmp_path / "series.xlsx")["series"]
    assert ws.max_row == ds.sizes["time"] + 1 and ws["A1"].value == "Ngày"
    assert main(["export", str(tmp_path / "nothing")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_compare_tells_identical_runs_apart_and_keeps_one_legend_entry_per_run():
    a, b, c = synthetic_results(peak=1.0), synthetic_results(peak=1.0), synthetic_results(peak=0.6)
    fig = plots.compare({"A": a, "B": b, "C": c}, lang="en")
    ax = fig.axes[0]
    styles = [ln.get_linestyle() for ln in ax.get_lines() if str(ln.get_gid()).startswith("run:")]
    assert len(set(styles)) == 3  # overlapping runs stay apart
    note = [t for t in ax.texts if t.get_gid() == "identical"]
    assert note and "“A” and “B” give identical results" in note[0].get_text()
    labels = ax.get_legend_handles_labels()[1]
    assert len(labels) <= 3 + 2  # a run each, the threshold, at most a measure
    assert any(label.startswith("A — threshold crossed ") for label in labels)
    assert not [t for t in plots.compare({"A": a, "C": c}).axes[0].texts if t.get_gid() == "identical"]
