"""The results file: NetCDF round trip with calendar dates, metadata and Vietnamese text."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import scenarios
from scenarios.results import VARIABLES, Recorder, read_netcdf, write_atomic, write_netcdf

from .conftest import CONFIGS


def test_netcdf_round_trip_keeps_dates_values_and_attrs(tmp_path):
    ds = scenarios.run(
        scenarios.load_config(CONFIGS / "ha_noi_new_variant.toml", overrides={"scenario.horizon_days": 20})
    )
    back = read_netcdf(write_netcdf(ds, tmp_path / "r.nc"))
    xr.testing.assert_allclose(ds, back)
    assert back.time.dtype == np.dtype("datetime64[ns]")
    assert back.attrs["area_name"] == "Hà Nội" and back.attrs["scenario_name"].startswith("Hà Nội")
    assert back.new_onsets_severe.attrs["long_name_vi"] == "ca mới cần thở oxy (tầng 2)"


def test_every_recorded_variable_is_declared_with_metadata():
    ds = scenarios.run(scenarios.load_config(CONFIGS / "phong_tho.toml", overrides={"scenario.horizon_days": 5}))
    for name in ds.data_vars:
        if name in VARIABLES:
            meta = VARIABLES[name]
            assert ds[name].dims == meta["dims"]
            assert ds[name].attrs["cell_methods"] in ("time: sum", "time: point")
        assert ds[name].attrs.get("units") is not None, name


def test_recorder_refuses_undeclared_names():
    rec = Recorder(np.datetime64("2026-01-01").astype(object), 2, {})
    with pytest.raises(KeyError, match="not declared"):
        rec.add(0, made_up=1.0)


def test_atomic_write_leaves_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(target, broken)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]
