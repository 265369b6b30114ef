"""The CLI writes crossings.csv and actions.csv and its summary leads with the crossings."""

from __future__ import annotations

import pandas as pd

import scenarios
from scenarios.cli import main
from scenarios.results import read_netcdf

from .conftest import CONFIGS


def test_run_writes_crossings_csv_and_summary_leads_with_it(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "run",
            str(CONFIGS / "an_giang_new_variant.toml"),
            "--out",
            str(out),
            "--set",
            "thresholds.set=small_area_phongtho",
            "--set",
            "scenario.horizon_days=120",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    assert lines[1].startswith("Các tiêu chí kích hoạt phương án (small_area_phongtho)")
    assert printed.index("Các tiêu chí kích hoạt") < printed.index("Số lượt nhiễm")
    table = pd.read_csv(out / "crossings.csv")
    assert {"criterion", "operator", "threshold", "first_date", "first_day", "days_met"} <= set(table.columns)
    assert table["criterion"].tolist()[:4] == ["cases", "oxygen", "free_beds", "activation"]
    assert table["operator"].tolist()[:3] == ["≥", "≥", "≤"]
    expected = scenarios.crossings(read_netcdf(out / "results.nc"))
    assert table["first_day"].fillna(-1).tolist() == expected["first_day"].fillna(-1).tolist()
    assert pd.read_csv(out / "actions.csv").columns.tolist() == [
        "date",
        "day",
        "policy",
        "action",
        "trigger",
        "event",
    ]


def test_unknown_threshold_set_is_a_config_error_naming_the_shipped_sets(tmp_path, capsys):
    code = main(
        [
            "run",
            str(CONFIGS / "phong_tho.toml"),
            "--out",
            str(tmp_path / "x"),
            "--set",
            "thresholds.set=phong_tho",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "thresholds" in err and "provincial_3984" in err and "small_area_phongtho" in err


def test_validate_checks_policy_triggers_and_surge_steps(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f"""extends = "{(CONFIGS / "an_giang_new_variant.toml").as_posix()}"
[[policies]]
name = "field"
trigger = "oxygen"
action = "surge"
step = "field hospital"
""",
        encoding="utf-8",
    )
    assert main(["validate", str(cfg), "--allow-dir", str(CONFIGS)]) == 2
    err = capsys.readouterr().err
    assert "policies.0.step: unknown surge step 'field hospital'; configured: field hospitals" in err
