"""A run's outputs are one set swapped in at once; damaged or foreign results are refused by name."""

import os

import numpy as np
import pytest
import xarray as xr

from scenarios import cli
from scenarios.cli import main

from .conftest import CONFIGS

CONFIG = str(CONFIGS / "homogeneous_r0_2.5.toml")
SHORT = ["--set", "scenario.horizon_days=20"]


def _run(out, *extra):
    return main(["run", CONFIG, "--out", str(out), *SHORT, *extra])


def test_a_run_failing_midway_leaves_the_earlier_set_whole(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    assert _run(out) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(table, path):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(cli, "write_crossings", broken)
    assert _run(out, "--set", "variants.resident.r0=3") == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # results.nc not replaced alone
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporaries left


def test_temporaries_of_killed_runs_are_removed_by_the_next_run(tmp_path, capsys):
    dead = 2**22 + 4321
    with pytest.raises(ProcessLookupError):
        os.kill(dead, 0)
    stale = tmp_path / f".out.{dead}.abc123.tmp"
    stale.mkdir()
    (stale / "results.nc").write_bytes(b"half")
    assert _run(tmp_path / "out") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_folder_with_other_files_is_not_replaced(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    assert _run(out) == 2
    assert "notes.txt" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def _damage(kind, data, seed):
    if kind == "truncated":
        return data[:100]
    if kind == "flipped":
        b = bytearray(data)
        rng = np.random.default_rng(seed)
        for i in rng.integers(len(b) // 10, len(b), 20):
            b[i] ^= 0xFF
        return bytes(b)
    raise ValueError(kind)


@pytest.mark.parametrize(("kind", "seed"), [("truncated", 0), ("flipped", 0), ("flipped", 1), ("foreign", 0)])
def test_report_refuses_damaged_or_foreign_results(kind, seed, tmp_path, capsys):
    out = tmp_path / "run"
    assert _run(out) == 0
    path = out / "results.nc"
    if kind == "foreign":
        xr.Dataset({"x": ("t", np.arange(3.0))}).to_netcdf(path, engine="scipy")
    else:
        path.write_bytes(_damage(kind, path.read_bytes(), seed))
    capsys.readouterr()
    assert main(["report", str(out), "--dpi", "20"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (out / "report").exists()
