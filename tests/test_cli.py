"""End-to-end runs through the command line."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from scenarios.cli import main
from scenarios.results import read_netcdf

from .conftest import CONFIGS


def test_run_writes_results_with_schema_and_provenance(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "run",
            str(CONFIGS / "phong_tho_new_variant.toml"),
            "--out",
            str(out),
            "--set",
            "scenario.horizon_days=60",
            "--seed",
            "7",
            "--lang",
            "en",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "Phong Thổ" in printed and str(out / "results.nc") in printed
    for line in (
        "Peak oxygen need:",
        "cylinders/day",
        "Most patients needing ICU at once:",
        "ICU beds with enough staff",
        "without the care",
    ):
        assert line in printed
    ds = read_netcdf(out / "results.nc")
    assert ds.time.dtype.kind == "M" and ds.sizes["time"] == 60
    assert str(ds.time.values[0])[:10] == "2026-12-01" and int(ds.day[-1]) == 59
    assert list(ds.age_group.values) == [
        "0-9",
        "10-19",
        "20-29",
        "30-39",
        "40-49",
        "50-59",
        "60-69",
        "70-79",
        "80+",
    ]
    for name in (
        "new_infections",
        "new_reported_cases",
        "n_susceptible",
        "n_exposed",
        "n_infectious",
        "n_recovered",
    ):
        assert ds[name].dims == ("time", "age_group")
        assert ds[name].attrs["units"] and ds[name].attrs["long_name"] and ds[name].attrs["cell_methods"]
    assert ds.attrs["seed"] == "7" and ds.attrs["engine"] == "seir" and ds.attrs["version"]
    assert "phong_tho.toml" in ds.attrs["config_text"] and '"scenario.horizon_days": 60' in ds.attrs["overrides"]
    assert ds.attrs["area_name"] == "Phong Thổ (Lai Châu)"
    assert sorted(p.name for p in out.iterdir()) == ["actions.csv", "crossings.csv", "results.nc"]


def test_reported_cases_are_delayed_share_of_onsets(tmp_path):
    out = tmp_path / "r"
    main(
        [
            "run",
            str(CONFIGS / "homogeneous_r0_2.5.toml"),
            "--out",
            str(out),
            "--set",
            "reporting.ascertainment=0.2",
            "--set",
            "reporting.delay_sd_days=0",
            "--set",
            "reporting.delay_mean_days=3",
        ]
    )
    ds = read_netcdf(out / "results.nc")
    onsets = ds.new_onsets.sum("age_group").values
    reported = ds.new_reported_cases.sum("age_group").values
    np.testing.assert_allclose(reported[3:], 0.2 * onsets[:-3], rtol=1e-12)
    assert reported[:3].sum() == 0


def test_console_script_is_installed_and_validates():
    result = subprocess.run(
        [sys.executable, "-m", "scenarios.cli", "validate", str(CONFIGS / "ha_noi.toml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and "valid" in result.stdout


def test_validate_show_prints_resolved_config_with_defaults(capsys):
    import json

    assert main(["validate", str(CONFIGS / "phong_tho_new_variant.toml"), "--show"]) == 0
    text = capsys.readouterr().out
    resolved = json.loads(text[text.index("{") :])
    assert resolved["population"]["total"] == 80000  # from phong_tho.toml
    assert resolved["variants"]["new"]["immune_escape"] == 0.6  # from the what-if
    assert resolved["disease"]["latent_days"] == 4.6  # a default
