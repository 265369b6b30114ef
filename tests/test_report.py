"""The annex bundle: `scenarios report RUN_DIR` and `scenarios run ... --report` write every figure, the
crossings table and the key numbers (CSV and formatted) and one multi-page PDF; a folder without results is
refused with a clear message and exit code 2; the report folder is never left half-written."""

from __future__ import annotations

import pandas as pd
import pypdf
import pytest

from scenarios import crossings, plots, report
from scenarios.cli import main
from scenarios.results import read_netcdf, write_netcdf

from ._synthetic_results import M3_PER_CYLINDER, synthetic_results
from .conftest import CONFIGS

FIGURE_FILES = sorted(f"{name}.{ext}" for name in [*plots.FIGURES, "tables"] for ext in ("png", "pdf", "svg"))
TABLES = ["actions.csv", "crossings.csv", "crossings.md", "key_numbers.csv", "key_numbers.md", "series.csv"]
BUNDLE = sorted(FIGURE_FILES + TABLES + ["annex.docx", "annex.pdf", "tables.xlsx"])


def _pdf_text(path) -> str:
    return " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(path).pages).split())


@pytest.mark.slow  # a real run and the bundle at 300 dpi (~20 s); the English test below is the fast one
def test_cli_run_with_report_writes_the_full_bundle_in_vietnamese(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "run",
            str(CONFIGS / "phong_tho_new_variant.toml"),
            "--out",
            str(out),
            "--set",
            "scenario.horizon_days=120",
            "--report",
        ]
    )
    assert code == 0
    assert f"report: {out / 'report' / 'vi'}" in capsys.readouterr().out
    names = sorted(p.name for p in out.iterdir())
    assert "report" in names and "results.nc" in names
    assert not [n for n in names if n.startswith(".")]  # no temporary folders left
    assert sorted(p.name for p in (out / "report").iterdir()) == ["vi"]
    assert sorted(p.name for p in (out / "report" / "vi").iterdir()) == BUNDLE
    ds = read_netcdf(out / "results.nc")
    # The crossings CSV is the crossings table of the run.
    csv = pd.read_csv(out / "report" / "vi" / "crossings.csv")
    table = crossings(ds, thresholds=plots.threshold_set(ds))
    assert list(csv["criterion"]) == list(table["criterion"])
    assert list(csv["first_date"].fillna("")) == [
        d.strftime("%Y-%m-%d") if not pd.isna(d) else "" for d in table["first_date"]
    ]
    # The annex: dashboard, tables page, then the five other figures; Vietnamese text with diacritics.
    annex = out / "report" / "vi" / "annex.pdf"
    assert len(pypdf.PdfReader(annex).pages) == 7
    text = _pdf_text(annex)
    for s in (
        "Các tiêu chí kích hoạt phương án ứng phó",
        "Các con số chính",
        "Ngày vượt ngưỡng của phương án",
        "Số ca mắc mới trong 7 ngày trên 100.000 dân",
        "Giường hồi sức tích cực (ICU) có đủ nhân lực",
        "Oxy y tế: nhu cầu và nguồn cung",
        "Nguồn:",
        "Phong Thổ",
    ):
        assert s in text, s
    md = (out / "report" / "vi" / "key_numbers.md").read_text(encoding="utf-8")
    assert "Nhu cầu oxy cao nhất" in md and "m³/ngày" in md and "bình/ngày" in md


def test_cli_report_in_english_on_an_existing_run(tmp_path, capsys):
    run_dir = tmp_path / "r"
    write_netcdf(synthetic_results(), run_dir / "results.nc")
    assert main(["report", str(run_dir), "--lang", "en", "--dpi", "40"]) == 0
    assert sorted(p.name for p in (run_dir / "report" / "en").iterdir()) == BUNDLE
    cross = (run_dir / "report" / "en" / "crossings.md").read_text(encoding="utf-8")
    assert "| Criterion | Condition | First date met | Days met | Days before overflow |" in cross
    assert "21 Feb 2027" in cross  # the synthetic cases criterion (> 450) is first met on day 51
    assert "Surge-plan activation criteria" in _pdf_text(run_dir / "report" / "en" / "annex.pdf")


@pytest.mark.parametrize("make", ["empty", "missing", "file"])
def test_report_refuses_a_folder_without_results(tmp_path, capsys, make):
    target = tmp_path / "not_a_run"
    if make == "empty":
        target.mkdir()
    elif make == "file":
        target.write_text("x")
    code = main(["report", str(target)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and str(target) in err and "Traceback" not in err
    assert ("results.nc" in err) if make == "empty" else ("not a folder" in err)
    assert not (target / "report").exists() if target.is_dir() else True
    if make == "empty":
        assert list(target.iterdir()) == []  # nothing written


def test_report_refuses_results_without_care_variables(tmp_path, capsys):
    ds = synthetic_results().drop_vars(["census_icu", "unmet_icu"])
    write_netcdf(ds, tmp_path / "results.nc")
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "census_icu" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.nc"]


def test_a_failing_report_leaves_the_earlier_one_untouched_and_no_temporary_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(plots, "FIGURES", {"dashboard": plots.dashboard, "cases": plots.cases})  # fast
    write_netcdf(synthetic_results(), tmp_path / "results.nc")
    report.write_report(tmp_path, dpi=30, formats=("svg",))
    before = {p.name: p.read_bytes() for p in (tmp_path / "report" / "vi").iterdir()}

    def broken(ds, lang="vi", size=None):
        raise RuntimeError("figure failed")

    monkeypatch.setitem(plots.FIGURES, "oxygen", broken)  # after the other figures are written
    with pytest.raises(RuntimeError, match="figure failed"):
        report.write_report(tmp_path, lang="vi", dpi=30, formats=("svg",))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report", "results.nc"]
    assert sorted(p.name for p in (tmp_path / "report").iterdir()) == ["vi"]
    assert {p.name: p.read_bytes() for p in (tmp_path / "report" / "vi").iterdir()} == before


def test_a_new_report_replaces_the_earlier_one(tmp_path, monkeypatch):
    monkeypatch.setattr(plots, "FIGURES", {"dashboard": plots.dashboard, "cases": plots.cases})  # fast
    write_netcdf(synthetic_results(), tmp_path / "results.nc")
    report.write_report(tmp_path, lang="en", dpi=30, formats=("svg",))
    (tmp_path / "report" / "en" / "stale.txt").write_text("from an earlier version")
    report.write_report(tmp_path, lang="en", dpi=30, formats=("svg",))
    names = sorted(p.name for p in (tmp_path / "report" / "en").iterdir())
    assert "stale.txt" not in names and "cases.svg" in names
    assert "Criterion" in (tmp_path / "report" / "en" / "crossings.md").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report", "results.nc"]


def test_key_numbers_against_the_results():
    ds = synthetic_results()
    k = report.key_numbers(ds).set_index("key")
    demand = ds.oxygen_demand_m3_per_day.values
    i = demand.argmax()
    assert k.loc["peak_oxygen_demand_m3_per_day", "value"] == pytest.approx(demand.max())
    assert k.loc["peak_oxygen_demand_m3_per_day", "date"] == pd.Timestamp(ds.time.values[i])
    assert k.loc["peak_oxygen_demand_cylinders_per_day", "value"] == pytest.approx(demand.max() / M3_PER_CYLINDER)
    icu = (ds.census_icu + ds.unmet_icu).sum("age_group").values
    assert k.loc["peak_icu_need", "value"] == pytest.approx(icu.max())
    assert k.loc["icu_staffed_at_peak", "value"] == ds.icu_staffed_available.values[icu.argmax()]
    assert k.loc["deaths_without_care", "value"] == pytest.approx(float(ds.deaths_without_care.sum()))
    # First overflow: the first date any patient lacks oxygen or ICU care, computed here directly.
    unmet = (ds.unmet_oxygen + ds.unmet_icu).sum("age_group").values
    first = pd.Timestamp(ds.time.values[(unmet > 0).argmax()])
    assert k.loc["first_overflow_date", "date"] == first
    table = crossings(ds)
    assert k.loc["lead_days", "value"] == (first - table.attrs["activation_date"]).days


def test_formatted_tables_use_vietnamese_conventions():
    ds = synthetic_results()
    shown = report._key_numbers_text(report.key_numbers(ds), "vi")
    peak = dict((label, value) for label, value, _ in shown)["Nhu cầu oxy cao nhất"]
    assert peak == plots.format_number(float(ds.oxygen_demand_m3_per_day.max()), "vi", 0) + " m³/ngày"
    assert "." in peak  # thousands separator: 1.807 m³/ngày
    cross = report.crossings_table(crossings(ds), "vi")
    assert list(cross.columns) == [
        "Tiêu chí",
        "Điều kiện",
        "Ngày đạt đầu tiên",
        "Số ngày đạt",
        "Số ngày trước quá tải",
    ]
    assert cross.iloc[0, 0] == "Số ca mắc mới trong 7 ngày trên 100.000 dân" and cross.iloc[0, 2] == "21/02/2027"


def test_report_refuses_too_few_runs_for_bands(tmp_path, capsys):
    import xarray as xr

    both = xr.concat([synthetic_results(), synthetic_results(peak=0.5)], dim="replicate")
    write_netcdf(both, tmp_path / "results.nc")
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "2 runs" in err and "at least 10" in err and "--replicates 10" in err
    assert str(tmp_path) in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.nc"]
