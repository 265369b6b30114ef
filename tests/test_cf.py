"""results.nc follows the CF conventions: every unit string parses with UDUNITS (cf-units), flags are
integers with their values and meanings, every coordinate has a long_name, and no attribute holds a
directory of the machine that ran it."""

from __future__ import annotations

import re

import numpy as np
import pytest
import xarray as xr

import scenarios
from scenarios.cli import main
from scenarios.results import read_netcdf

from .conftest import CONFIGS

cf_units = pytest.importorskip("cf_units")  # in the test extra; skipping would only hide a broken install


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("cf")
    args = ["run", str(CONFIGS / "an_giang_new_variant.toml"), "--set", "scenario.horizon_days=60"]
    assert main([*args, "--out", str(out / "one")]) == 0
    assert main([*args, "--out", str(out / "many"), "--replicates", "2"]) == 0
    return [out / "one" / "results.nc", out / "many" / "results.nc"]


def _raw(path):
    with xr.open_dataset(path, engine="scipy", decode_cf=False) as ds:
        return ds.load()


def test_every_unit_string_parses_with_udunits(written):
    for path in written:
        ds = _raw(path)
        units = {name: var.attrs["units"] for name, var in ds.variables.items() if "units" in var.attrs}
        assert len(units) > 40
        for name, text in units.items():
            if name in ("time",):  # "days since ..." is a reference time, also UDUNITS
                assert cf_units.Unit(text, calendar="standard").is_time_reference()
                continue
            cf_units.Unit(text)  # raises ValueError when UDUNITS cannot parse it
        assert units["new_infections"] == "d-1" and "people per day" in ds["new_infections"].attrs["long_name"]
        assert units["census_icu"] == "1" and units["oxygen_demand_m3_per_day"] == "m3 d-1"
        assert cf_units.Unit(units["cases_7d_per_100k"]).convert(450, "1") == pytest.approx(0.0045)


def test_flags_are_integers_with_values_and_meanings(written):
    for path in written:
        ds = _raw(path)
        flags = [n for n, v in ds.variables.items() if "flag_meanings" in v.attrs]
        assert {"policy_event", "criterion_met", "plan_activated", "policy_in_force"} <= set(flags)
        for name in flags:
            var = ds[name]
            assert var.dtype.kind == "i", name
            values = var.attrs.get("flag_values", var.attrs.get("flag_masks"))
            assert len(np.atleast_1d(values)) == len(var.attrs["flag_meanings"].split()), name
            assert "units" not in var.attrs
            present = set(np.unique(var.values)) - {-1}
            if "flag_values" in var.attrs:
                assert present <= set(np.atleast_1d(var.attrs["flag_values"]).tolist()), name


def test_coordinates_have_long_names_and_attributes_no_directories(written):
    for path in written:
        ds = _raw(path)
        for name in ds.coords:
            assert ds[name].attrs.get("long_name"), name
        for key, value in ds.attrs.items():
            if isinstance(value, str):
                assert not re.search(r"(?<![\w.:])/(?:[^\s/\"']+/)+", value), key
        assert ds.attrs["config_path"] == "an_giang_new_variant.toml"
        assert ds.attrs["Conventions"].startswith("CF-")


def test_results_read_back_as_written(written):
    back = read_netcdf(written[0])
    again = scenarios.crossings(back)
    assert back["criterion_met"].dims == ("time", "criterion")
    assert set(np.unique(back["criterion_met"].values)) <= {0, 1}
    assert len(again) and again.attrs["threshold_set"]
