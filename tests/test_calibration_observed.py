"""Observed data in: the shipped portal file, the 2025 merger, weekly sums, and bad data through the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scenarios.calibration import DataError, read_observed, shipped_observed, weekly_sums
from scenarios.cli import main
from scenarios.config.provinces import _fold

from .conftest import CONFIGS

GOOD = "date,variable,value\n2026-01-01,reported_cases,3\n2026-01-02,reported_cases,\n2026-01-04,reported_cases,5\n"


def test_missing_days_stay_missing(tmp_path):
    path = tmp_path / "obs.csv"
    path.write_text("# a comment\n" + GOOD)
    df = read_observed(path)
    assert list(df.index.strftime("%Y-%m-%d")) == ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]
    assert df["reported_cases"].tolist()[0] == 3 and df["reported_cases"].tolist()[3] == 5
    assert np.isnan(df["reported_cases"].tolist()[1]) and np.isnan(df["reported_cases"].tolist()[2])


def test_flagged_entry_error_is_missing_and_merger_sums_old_provinces():
    kien_giang = read_observed(shipped_observed(), "Kiên Giang")
    assert np.isnan(kien_giang.loc["2021-09-28", "reported_cases"])
    merged = read_observed(shipped_observed(), "Hồ Chí Minh", to_2025=True)
    parts = [read_observed(shipped_observed(), a) for a in ("Ho Chi Minh City", "Binh Duong", "Ba Ria - Vung Tau")]
    week = slice("2021-08-01", "2021-08-07")
    assert merged.loc[week, "reported_cases"].sum() == sum(p.loc[week, "reported_cases"].sum() for p in parts)
    assert merged.attrs["area"] == "Hồ Chí Minh"


def test_weekly_sums_skip_missing_days():
    s, n = weekly_sums(np.array([[1, np.nan, 1, 1, 1, 1, 1, np.nan]]))
    assert s.tolist() == [[6.0, np.nan]] or (s[0, 0] == 6 and np.isnan(s[0, 1]))
    assert n.tolist() == [6, 0]


BAD = {
    "date": ("date,variable,value\n2026-01-01,reported_cases,3\n2026-13-01,reported_cases,4\n", "line 3, date"),
    "duplicate": (
        "date,variable,value\n2026-01-01,reported_cases,3\n2026-01-01,reported_cases,4\n",
        "duplicate of line 2",
    ),
    "negative": ("date,variable,value\n2026-01-01,deaths,-1\n", "line 2, value: -1 is negative"),
    "variable": (
        "date,variable,value\n2026-01-01,hospitalised,3\n",
        "'hospitalised' is unknown; allowed: reported_cases",
    ),
    "window": ("date,variable,value\n2020-01-01,reported_cases,3\n", "no data in the fit window"),
    "column": ("day,variable,value\n2026-01-01,reported_cases,3\n", "missing column(s) date"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_data_exit_2_one_line_nothing_written(case, tmp_path, capsys):
    text, expected = BAD[case]
    data = tmp_path / "bad.csv"
    data.write_text(text)
    out = tmp_path / "fit"
    code = main(["fit", str(CONFIGS / "homogeneous_r0_2.5.toml"), "--data", str(data), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err and str(data) in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == [data]


def test_unknown_area_names_the_areas_present():
    with pytest.raises(DataError, match="no rows for area 'Atlantis'; areas in the file: An Giang"):
        read_observed(shipped_observed(), "Atlantis")


def test_merger_table_covers_63_old_and_34_new_provinces():
    from scenarios.calibration.observed import _mergers
    from scenarios.config.provinces import _table

    codes = set(_mergers().values())
    assert codes == {p.code for p in _table()}
    ids = pd.read_csv(shipped_observed("vn_portal_province_ids.csv"))
    assert all(_mergers().get(_fold(a)) for a in ids["area"])
