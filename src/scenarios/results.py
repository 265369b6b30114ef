"""The results schema: one ``xarray.Dataset`` per run, its variables' metadata, and safe file writing.

Every variable a run produces is declared in :data:`VARIABLES` with its dimensions, units, an English and a
Vietnamese ``long_name`` and a CF ``cell_methods`` (``time: sum`` for flows over a day, ``time: point`` for
stocks at the end of a day). ``time`` holds calendar dates; ``day`` (days since the start) sits beside it.

Units follow the CF conventions: UDUNITS strings (``"1"`` for counts, ``"d-1"`` per day, ``"m3 d-1"``,
``"1e-5"`` per 100,000 people), the counted thing named in ``long_name`` ("new infections, people per day"),
and the unit as people read it in ``units_label`` (``"people/day"``), which figures and tables show.
:func:`write_netcdf` also stores yes/no and event flags as integers with ``flag_values``/``flag_masks`` and
``flag_meanings``, gives every coordinate a ``long_name``, and keeps file names but no directories in the
attributes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

__all__ = [
    "VARIABLES",
    "Recorder",
    "ResultsError",
    "cf_encode",
    "cf_units",
    "output_folder",
    "over_ages",
    "read_netcdf",
    "swap_into_place",
    "write_atomic",
    "write_csv",
    "write_netcdf",
]

FLOW, STOCK = "time: sum", "time: point"

# Units as people write them -> (UDUNITS string, the counted thing for long_name). Counts are
# dimensionless in UDUNITS, so what is counted goes into the name; "per 100,000" is a 1e-5 scale factor.
_CF_UNITS: dict[str, tuple[str, str]] = {
    "people": ("1", "people"),
    "patients": ("1", "patients"),
    "beds": ("1", "beds"),
    "deaths": ("1", "deaths"),
    "people/day": ("d-1", "people per day"),
    "deaths/day": ("d-1", "deaths per day"),
    "cylinders/day": ("d-1", "cylinders per day"),
    "m3/day": ("m3 d-1", ""),
    "t/day": ("t d-1", ""),
    "m3": ("m3", ""),
    "1": ("1", ""),
    "days": ("days", ""),
    "cases per 100,000 per 7 days": ("1e-5", "cases in 7 days per 100,000 population"),
    "deaths per 100,000 per 7 days": ("1e-5", "deaths in 7 days per 100,000 population"),
    "patients per 100,000": ("1e-5", "patients per 100,000 population"),
    "beds per 100,000": ("1e-5", "beds per 100,000 population"),
    "1/(contact day)": ("d-1", "per contact per day"),
    # Criterion thresholds are in their indicator's units: every plan indicator is per 100,000.
    "as the indicator": ("1e-5", "in the units of the criterion's indicator, per 100,000 population"),
}


def cf_units(units: str) -> tuple[str, str]:
    """Return the UDUNITS string of a unit as people write it, and the counted thing to name in ``long_name``.

    Examples
    --------
    >>> cf_units("people/day")
    ('d-1', 'people per day')
    >>> cf_units("m3/day")
    ('m3 d-1', '')
    """
    return _CF_UNITS.get(units, (units, ""))


def _var(dims: tuple[str, ...], units: str, long_name: str, long_name_vi: str, cell_methods: str) -> dict:
    udunits, counted = cf_units(units)
    return {
        "dims": dims,
        "units": udunits,
        "units_label": units,
        "long_name": f"{long_name}, {counted}" if counted else long_name,
        "long_name_vi": long_name_vi,
        "cell_methods": cell_methods,
    }


TA = ("time", "age_group")
VARIABLES: dict[str, dict[str, Any]] = {
    "new_infections": _var(TA, "people/day", "new infections", "ca nhiễm mới", FLOW),
    "new_infections_by_variant": _var(
        ("time", "variant"), "people/day", "new infections by variant", "ca nhiễm mới theo biến chủng", FLOW
    ),
    "new_onsets": _var(TA, "people/day", "new onsets of illness", "ca khởi phát mới", FLOW),
    "new_onsets_mild": _var(TA, "people/day", "new onsets, mild (tier 1)", "ca nhẹ mới (tầng 1)", FLOW),
    "new_onsets_severe": _var(
        TA, "people/day", "new onsets needing oxygen (tier 2)", "ca mới cần thở oxy (tầng 2)", FLOW
    ),
    "new_onsets_critical": _var(
        TA, "people/day", "new onsets needing ICU (tier 3)", "ca mới cần hồi sức tích cực (tầng 3)", FLOW
    ),
    "new_reported_cases": _var(TA, "people/day", "new reported cases", "ca mắc mới được báo cáo", FLOW),
    "n_susceptible": _var(TA, "people", "not infected, no post-infection immunity", "người chưa nhiễm", STOCK),
    "n_exposed": _var(TA, "people", "infected, latent", "người nhiễm trong thời kỳ ủ bệnh", STOCK),
    "n_infectious": _var(TA, "people", "infectious", "người có khả năng lây", STOCK),
    "n_recovered": _var(TA, "people", "recovered, with post-infection immunity", "người đã khỏi", STOCK),
    "n_by_immunity": _var(
        ("time", "immunity", "age_group"),
        "people",
        "people not currently infected, by immunity stratum",
        "người không đang nhiễm, theo nhóm miễn dịch",
        STOCK,
    ),
    "contact_multiplier": _var(
        ("time", "setting"), "1", "contact multiplier by setting", "hệ số tiếp xúc theo môi trường", STOCK
    ),
}


# Three-tier care (definitions in scenarios.care): census and waiting are stocks at the end of
# the day; admissions, discharges and deaths are flows over the day. Oxygen is a rate on the day's census.
T = ("time",)
VARIABLES.update(
    {
        "census_home": _var(
            TA,
            "people",
            "in tier-1 home/community care (mild, or severe/critical before admission)",
            "người điều trị tại nhà/cộng đồng (tầng 1)",
            STOCK,
        ),
        "census_oxygen": _var(
            TA,
            "people",
            "tier-2 patients receiving oxygen in a bed (step-down from ICU included)",
            "người bệnh thở oxy tại giường (tầng 2)",
            STOCK,
        ),
        "census_icu": _var(
            TA,
            "people",
            "patients in staffed ICU beds (tier 3)",
            "người bệnh tại giường hồi sức tích cực (tầng 3)",
            STOCK,
        ),
        "unmet_oxygen": _var(
            TA,
            "people",
            "patients needing oxygen without it (no bed or no oxygen)",
            "người bệnh cần oxy nhưng không được thở oxy",
            STOCK,
        ),
        "unmet_icu": _var(
            TA,
            "people",
            "critical patients without an ICU bed",
            "người bệnh nặng không có giường hồi sức tích cực",
            STOCK,
        ),
        "needing_oxygen": _var(
            TA,
            "people",
            "patients needing oxygen (tier 2 and ICU, with or without it)",
            "người bệnh cần thở oxy (tầng 2 và hồi sức, có hoặc chưa có oxy)",
            STOCK,
        ),
        "admissions_oxygen": _var(
            TA,
            "people/day",
            "admissions to tier-2 oxygen beds",
            "số ca nhập viện thở oxy (tầng 2)",
            FLOW,
        ),
        "admissions_icu": _var(TA, "people/day", "admissions to ICU", "số ca nhập hồi sức tích cực", FLOW),
        "stepdowns_icu_to_oxygen": _var(
            TA,
            "people/day",
            "ICU survivors moved to a tier-2 bed",
            "số ca chuyển từ hồi sức xuống tầng 2",
            FLOW,
        ),
        "discharges_oxygen": _var(
            TA,
            "people/day",
            "discharges alive from tier-2 beds",
            "số ca xuất viện từ tầng 2",
            FLOW,
        ),
        "discharges_icu": _var(
            TA,
            "people/day",
            "ICU survivors sent home (no tier-2 bed for step-down)",
            "số ca ra viện thẳng từ hồi sức tích cực",
            FLOW,
        ),
        "deaths_in_oxygen_bed": _var(
            TA,
            "deaths/day",
            "deaths in tier-2 oxygen beds",
            "số ca tử vong tại tầng 2",
            FLOW,
        ),
        "deaths_in_icu": _var(TA, "deaths/day", "deaths in ICU", "số ca tử vong tại hồi sức tích cực", FLOW),
        "displaced_oxygen": _var(
            TA,
            "people/day",
            "tier-2 patients who lost their bed or oxygen when capacity fell",
            "số người bệnh tầng 2 mất giường/oxy do năng lực giảm",
            FLOW,
        ),
        "displaced_icu": _var(
            TA,
            "people/day",
            "ICU patients who lost their staffed bed when capacity fell",
            "số người bệnh mất giường hồi sức do năng lực giảm",
            FLOW,
        ),
        "new_unmet_oxygen": _var(
            TA,
            "people/day",
            "patients starting to need oxygen without getting it",
            "số ca mới cần oxy nhưng không được đáp ứng",
            FLOW,
        ),
        "new_unmet_icu": _var(
            TA,
            "people/day",
            "critical patients starting without an ICU bed",
            "số ca nặng mới không có giường hồi sức",
            FLOW,
        ),
        "recoveries_without_care": _var(
            TA,
            "people/day",
            "recoveries of patients who did not get the care they needed",
            "số ca khỏi dù không được điều trị như cần",
            FLOW,
        ),
        "deaths": _var(TA, "deaths/day", "deaths", "số ca tử vong", FLOW),
        "deaths_without_care": _var(
            TA,
            "deaths/day",
            "deaths of patients without the bed, oxygen or ICU they needed",
            "số ca tử vong do không được điều trị (thiếu giường, oxy, hồi sức)",
            FLOW,
        ),
        "oxygen_demand_m3_per_day": _var(T, "m3/day", "oxygen demand of all patients needing it", "nhu cầu oxy", STOCK),
        "oxygen_used_m3_per_day": _var(
            T,
            "m3/day",
            "oxygen used by patients in beds",
            "lượng oxy sử dụng",
            STOCK,
        ),
        "oxygen_supply_m3_per_day": _var(T, "m3/day", "oxygen supply", "nguồn cung oxy", STOCK),
        "oxygen_unmet_m3_per_day": _var(
            T, "m3/day", "oxygen demand above supply", "nhu cầu oxy vượt nguồn cung", STOCK
        ),
        "oxygen_demand_cylinders_per_day": _var(
            T,
            "cylinders/day",
            "oxygen demand in cylinders (size in config)",
            "nhu cầu oxy tính theo bình",
            STOCK,
        ),
        "oxygen_demand_liquid_tonnes_per_day": _var(
            T,
            "t/day",
            "oxygen demand in tonnes of liquid oxygen",
            "nhu cầu oxy tính theo tấn oxy lỏng",
            STOCK,
        ),
        "beds_oxygen_available": _var(
            T,
            "beds",
            "oxygen beds available to COVID-19 patients (tier 2)",
            "số giường có oxy dành cho COVID-19 (tầng 2)",
            STOCK,
        ),
        "beds_icu_available": _var(
            T, "beds", "ICU beds available to COVID-19 patients", "số giường hồi sức dành cho COVID-19", STOCK
        ),
        "icu_staffed_available": _var(
            T, "beds", "ICU beds with enough staff", "số giường hồi sức tích cực có đủ nhân lực", STOCK
        ),
        "beds_covid_free": _var(
            T,
            "beds",
            "free COVID-19 beds (tier-2 oxygen beds and staffed ICU beds)",
            "số giường điều trị COVID-19 còn trống",
            STOCK,
        ),
        "icu_staffed_free": _var(
            T, "beds", "free staffed ICU beds", "số giường hồi sức tích cực có đủ nhân lực còn trống", STOCK
        ),
        "staff_absence": _var(T, "1", "share of ICU staff absent", "tỷ lệ nhân viên hồi sức vắng mặt", STOCK),
    }
)


# Surge-plan indicators, criteria, epidemic level and triggered responses (definitions in
# scenarios.indicators and docs/indicators.md). Indicators are the value on each date of a 7-day window
# or a stock, so they are points in time (summing them over dates means nothing).
VARIABLES.update(
    {
        "cases_7d_per_100k": _var(
            ("time",),
            "cases per 100,000 per 7 days",
            "reported cases in the last 7 days per 100,000",
            "số ca mắc mới trong 7 ngày qua trên 100.000 dân",
            STOCK,
        ),
        "oxygen_patients_7d_avg_per_100k": _var(
            ("time",),
            "patients per 100,000",
            "patients needing oxygen, 7-day average, per 100,000",
            "số người bệnh cần thở oxy trung bình 7 ngày trên 100.000 dân",
            STOCK,
        ),
        "free_covid_beds_per_100k": _var(
            ("time",),
            "beds per 100,000",
            "free beds for COVID-19 patients per 100,000",
            "số giường bệnh còn trống cho người bệnh COVID-19 trên 100.000 dân",
            STOCK,
        ),
        "staffed_icu_beds_per_100k": _var(
            ("time",),
            "beds per 100,000",
            "ICU beds with enough staff per 100,000",
            "số giường hồi sức tích cực có đủ nhân lực trên 100.000 dân",
            STOCK,
        ),
        "free_staffed_icu_beds_per_100k": _var(
            ("time",),
            "beds per 100,000",
            "free staffed ICU beds per 100,000",
            "số giường hồi sức tích cực có đủ nhân lực còn trống trên 100.000 dân",
            STOCK,
        ),
        "deaths_7d_per_100k": _var(
            ("time",),
            "deaths per 100,000 per 7 days",
            "deaths in the last 7 days per 100,000",
            "số ca tử vong trong 7 ngày qua trên 100.000 dân",
            STOCK,
        ),
        "criterion_met": _var(
            ("time", "criterion"),
            "1",
            "surge-plan criterion met (1) or not (0)",
            "tiêu chí kích hoạt phương án đạt (1) hay không (0)",
            STOCK,
        ),
        "plan_activated": _var(
            ("time",),
            "1",
            "surge plan activation rule met (1) or not (0)",
            "đạt điều kiện kích hoạt phương án (1) hay không (0)",
            STOCK,
        ),
        "epidemic_level": _var(("time",), "1", "epidemic level", "cấp độ dịch", STOCK),
        "policy_in_force": _var(
            ("time", "policy"),
            "1",
            "triggered response in force (1) or not (0)",
            "biện pháp đáp ứng đang áp dụng (1) hay không (0)",
            STOCK,
        ),
        "policy_event": _var(
            ("time", "policy"),
            "1",
            "triggered response events (flags: 1 triggered, 2 in force from this day, 4 lift decided, 8 ended)",
            "sự kiện của biện pháp đáp ứng",
            STOCK,
        ),
    }
)
VARIABLES["policy_event"].update(  # CF flags, as scenarios.policy.EVENT_FLAGS
    flag_masks=np.array([1, 2, 4, 8], dtype=np.int8), flag_meanings="triggered in_force lift_decided ended"
)
for _name, _meanings in (
    ("criterion_met", "not_met met"),
    ("plan_activated", "not_activated activated"),
    ("policy_in_force", "not_in_force in_force"),
):
    VARIABLES[_name].update(flag_values=np.array([0, 1], dtype=np.int8), flag_meanings=_meanings)
VARIABLES["epidemic_level"].update(
    flag_values=np.array([1, 2, 3, 4], dtype=np.int8), flag_meanings="level_1 level_2 level_3 level_4"
)

#: Long names of the coordinates (CF wants one on each).
COORD_NAMES = {
    "time": "date",
    "day": "days since the start of the run",
    "age_group": "age group (years)",
    "variant": "virus variant",
    "immunity": "immunity stratum",
    "setting": "contact setting",
    "criterion": "surge-plan criterion",
    "policy": "triggered response",
    "scenario": "what-if",
    "replicate": "replicate run",
}


def over_ages(da: xr.DataArray) -> xr.DataArray:
    """Return ``da`` summed over ``age_group`` when it has that dimension (totals for the whole area)."""
    return da.sum("age_group") if "age_group" in da.dims else da


class Recorder:
    """Collect one value per day per variable, then build the Dataset.

    Parameters
    ----------
    start_date : date
        Date of day 0.
    n_days : int
        Number of days.
    coords : mapping
        Labels of the non-time dimensions (``age_group``, ``variant``, ``immunity``, ``setting``...).
    ensemble : (str, int), optional
        For a batch of runs, ``(dim, n_member)``: every recorded value has a leading member axis, which
        becomes the first dimension ``dim`` of each variable (no coordinate, as ``xr.concat`` along a new
        name gives). Arrays are allocated once, so a large batch holds its results only once.
    """

    def __init__(
        self,
        start_date: dt.date,
        n_days: int,
        coords: Mapping[str, Any],
        ensemble: tuple[str, int] | None = None,
    ):
        self.start_date, self.n_days, self.coords = start_date, n_days, dict(coords)
        self.ensemble = ensemble
        self._data: dict[str, Any] = {}

    def add(self, day: int, members: slice = slice(None), **values: Any) -> None:
        """Record ``name=value`` pairs for ``day`` (each name must be in :data:`VARIABLES`).

        In a batch, ``members`` says which members the values (leading axis) belong to.
        """
        single = self.ensemble is None
        for name, value in values.items():
            store = self._data.get(name)
            if store is None:  # (member, time, ...) or (time, ...), allocated once: each series contiguous
                if name not in VARIABLES:
                    raise KeyError(f"{name!r} is not declared in results.VARIABLES")
                shape = np.shape(value)
                shape = (self.n_days, *shape) if single else (self.ensemble[1], self.n_days, *shape[1:])
                store = self._data[name] = np.full(shape, np.nan)
            if single:
                store[day] = value
            else:
                store[members, day] = value

    def dataset(self, attrs: Mapping[str, Any], static: Mapping[str, xr.DataArray] | None = None) -> xr.Dataset:
        """Build the Dataset: recorded variables with metadata, ``static`` extras, and ``attrs``."""
        days = np.arange(self.n_days)
        time = np.datetime64(self.start_date, "D") + days.astype("timedelta64[D]")
        data_vars = {}
        for name, series in self._data.items():
            meta = VARIABLES[name]
            dims = meta["dims"] if self.ensemble is None else (self.ensemble[0], *meta["dims"])
            data_vars[name] = xr.Variable(dims, series, {k: v for k, v in meta.items() if k != "dims"})
        ds = xr.Dataset(data_vars, coords={"time": time.astype("datetime64[ns]"), **self.coords})
        ds = ds.assign_coords(day=("time", days, {"units": "days", "long_name": "days since start"}))
        ds["time"].attrs.update(long_name="date", standard_name="time")
        if static:
            ds = ds.assign(dict(static))  # one merge for all (assigning one by one aligns each time)
        ds.attrs.update({k: _attr(v) for k, v in attrs.items()})
        return ds


def _attr(value: Any) -> Any:
    """NetCDF attributes take text and numbers only."""
    if isinstance(value, str | int | float | np.integer | np.floating):
        return value
    return "" if value is None else str(value)


def current_umask() -> int:
    """Return the file-creation mask (os.umask can only be read by setting it, so it is set back at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def _temporary_beside(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; results are ordinary files
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_atomic(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    A reader never sees a half-written file, and a failure leaves any earlier ``path`` untouched.
    """
    path = Path(path)
    with _temporary_beside(path) as tmp:
        write(tmp)
    return path


def write_csv(df: Any, path: str | Path) -> Path:
    """Write a table as CSV, UTF-8 with a byte-order mark, dates as YYYY-MM-DD, atomically.

    The mark makes Excel (as planners open a CSV) read the Vietnamese text as UTF-8; pandas reads it as is.
    """
    return write_atomic(path, lambda tmp: df.to_csv(tmp, index=False, encoding="utf-8-sig", date_format="%Y-%m-%d"))


# An absolute path: a slash not inside a word, then directories. Only the last part (the file name) is kept.
_ABSOLUTE = re.compile(r"(?<![\w.:])/(?:[^\s/\"'\\]+/)+([^\s/\"'\\]+)")


def _strip_dirs(text: str) -> str:
    return _ABSOLUTE.sub(r"\1", text)


def cf_encode(ds: xr.Dataset) -> tuple[xr.Dataset, dict[str, dict]]:
    """Prepare a results Dataset for a CF-valid file: UDUNITS units, integer flags, named coordinates.

    Returns
    -------
    (xarray.Dataset, dict)
        A shallow copy with CF attributes, and the NetCDF ``encoding`` that stores flag variables as
        ``int8`` (missing values as -1, read back as NaN).
    """
    out = ds.copy()
    encoding: dict[str, dict] = {}
    for name, var in out.variables.items():
        attrs = dict(var.attrs)
        if "units" in attrs:
            udunits, counted = cf_units(str(attrs["units"]))
            if udunits != attrs["units"]:
                attrs.setdefault("units_label", attrs["units"])
                attrs["units"] = udunits
                if counted and counted not in str(attrs.get("long_name", "")):
                    attrs["long_name"] = f"{attrs.get('long_name', name)}, {counted}"
        if name in out.coords and "long_name" not in attrs:
            attrs["long_name"] = COORD_NAMES.get(str(name), str(name).replace("_", " "))
        if "flag_values" in attrs or "flag_masks" in attrs:
            attrs.pop("units", None)  # CF: flags carry meanings, not units
            attrs.pop("units_label", None)
            attrs.pop("cell_methods", None)
            encoding[str(name)] = {"dtype": "int8", "_FillValue": np.int8(-1)}
        var.attrs = attrs
    out.attrs = {k: _strip_dirs(v) if isinstance(v, str) else v for k, v in out.attrs.items()}
    out.attrs.setdefault("Conventions", "CF-1.8")
    return out, encoding


class ResultsError(ValueError):
    """A file that is not, or is no longer, a results file written by :func:`write_netcdf`."""


# Attributes every run writes (simulate.run, ensemble.sweep); a file without them is not our results.
_REQUIRED_ATTRS = ("engine", "population_total", "start_date", "version")


def _digest(ds: xr.Dataset) -> str:
    """SHA-256 of every numeric or date variable and every text attribute, to tell a damaged file."""
    h = hashlib.sha256()
    for name in sorted(map(str, ds.variables)):
        values = np.asarray(ds.variables[name].values)
        if values.dtype.kind in "fiub":
            h.update(name.encode() + np.ascontiguousarray(values, dtype=float).tobytes())
        elif values.dtype.kind == "M":
            h.update(name.encode() + np.ascontiguousarray(values.astype("datetime64[ns]").view(np.int64)).tobytes())
    for key in sorted(ds.attrs):
        if key != "data_sha256" and isinstance(ds.attrs[key], str):
            h.update(key.encode() + ds.attrs[key].encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def write_netcdf(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` as CF NetCDF (:func:`cf_encode`; scipy backend), atomically, with a checksum of what is written."""
    encoded, encoding = cf_encode(ds)
    encoded = encoded.assign_attrs(data_sha256=_digest(encoded))
    return write_atomic(path, lambda tmp: encoded.to_netcdf(tmp, engine="scipy", encoding=encoding))


def read_netcdf(path: str | Path) -> xr.Dataset:
    """Read a results file written by :func:`write_netcdf` into memory.

    Raises
    ------
    ResultsError
        The file is not NetCDF, is truncated or damaged (its checksum does not match), or was not written by
        ``scenarios``; the message names the file and what is wrong.
    """
    try:
        with xr.open_dataset(path, engine="scipy") as ds:
            ds = ds.load()
    except OSError:
        raise
    except Exception as e:  # scipy's reader fails in many ways on damaged bytes
        why = f"{type(e).__name__}: {e}"
        raise ResultsError(f"{path}: not a readable NetCDF file, truncated or damaged ({why})") from None
    missing = [a for a in _REQUIRED_ATTRS if a not in ds.attrs]
    if missing:
        raise ResultsError(f"{path}: not a results file written by scenarios (no attribute {', '.join(missing)})")
    written = ds.attrs.pop("data_sha256", None)  # checked, then dropped: a round trip gives the same Dataset
    if written is not None and written != _digest(ds):
        raise ResultsError(f"{path}: damaged: its contents do not match the checksum written with them")
    return ds


def swap_into_place(tmp: Path, final: Path) -> None:
    """Rename the finished folder ``tmp`` to ``final``, replacing an earlier one only after that works."""
    old = None
    if final.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{final.name}.{os.getpid()}.", suffix=".old", dir=final.parent))
        os.rmdir(old)
        os.rename(final, old)
    try:
        os.rename(tmp, final)
    except OSError:
        if old is not None:
            os.rename(old, final)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _remove_stale(final: Path) -> None:
    """Remove temporaries that killed runs left beside ``final`` (their process is gone)."""
    for p in final.parent.glob(f".{final.name}.*"):
        parts = p.name.split(".")
        if p.suffix in (".tmp", ".old") and len(parts) > 3 and parts[2].isdigit() and not _alive(int(parts[2])):
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


@contextmanager
def output_folder(final: str | Path, ours: set[str]) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``final``; on success it replaces ``final`` in one rename.

    So a run's outputs are one set: a failure or a kill leaves the earlier set whole, and a reader never sees
    new results beside old tables. Temporaries left by killed runs are removed first.

    Parameters
    ----------
    final : path
        The output folder.
    ours : set of str
        Names ``final`` may hold: it is replaced whole, so a folder holding anything else is refused.

    Raises
    ------
    ResultsError
        ``final`` holds files that ``scenarios`` did not write.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(final)
    if final.exists():
        other = sorted(p.name for p in final.iterdir() if p.name not in ours and p.suffix not in (".tmp", ".old"))
        if not final.is_dir() or other:
            raise ResultsError(
                f"{final}: holds files scenarios did not write ({', '.join(other) or 'not a folder'}); "
                "the output folder is replaced whole, so give a new or empty folder with --out"
            )
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.{os.getpid()}.", suffix=".tmp", dir=final.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes 0700
        swap_into_place(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# ---------------------------------------------------------------------------------------------------
# Sweep stores (Zarr): one region per (province, what-if, replicate) cell, written as cells finish

#: Dims of a sweep's cells, prepended to every variable of a run in a sweep store.
CELL_DIMS = ("province", "whatif", "replicate")
#: ``cell_status`` values; the status is written after the cell's data, so DONE marks a complete cell.
PENDING, DONE, FAILED = 0, 1, 2
_CELL_TEXT = {
    "cell_seed": "seed of the cell's run (SeedSequence entropy and spawn key)",
    "cell_config_sha256": "SHA-256 of the cell's resolved config (draws applied)",
    "cell_error": "why the cell's run failed (empty when it did not)",
}


def create_zarr_store(
    path: str | Path,
    template: xr.Dataset,
    cells: Mapping[str, Any],
    per_province: Mapping[str, xr.DataArray],
    attrs: Mapping[str, Any],
) -> Path:
    """Create an empty sweep store shaped after one run, built beside ``path`` and renamed into place.

    Every data variable of ``template`` gets the dims :data:`CELL_DIMS` in front and one chunk per cell, so a
    cell's region is its own chunks (cells are written independently, in any order, by any process). Cells
    start as fill values (NaN) with ``cell_status = PENDING``. Nothing but metadata and coordinates is
    written here.

    Parameters
    ----------
    path : str or Path
        The store (a folder); must not exist.
    template : xarray.Dataset
        A run of the sweep: its variables, coordinates and per-variable attributes.
    cells : mapping
        Labels of each of :data:`CELL_DIMS`.
    per_province : mapping of str to DataArray
        Variables along ``province`` (area name, population).
    attrs : mapping
        Attributes of the store (sweep provenance, threshold set...).
    """
    import dask.array as da
    import zarr

    path = Path(path)
    shape = tuple(len(cells[d]) for d in CELL_DIMS)
    data = {}
    for name, var in template.data_vars.items():
        fill = np.nan if np.issubdtype(var.dtype, np.floating) else 0
        array = da.full(shape + var.shape, fill, dtype=var.dtype, chunks=(1, 1, 1, *var.shape))
        data[name] = xr.Variable(CELL_DIMS + var.dims, array, dict(var.attrs))
    coords = {d: (d, np.asarray(cells[d])) for d in CELL_DIMS}
    ds = xr.Dataset(data, coords={**coords, **template.coords}).assign(dict(per_province))
    ds.attrs.update({k: _attr(v) for k, v in attrs.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        ds.to_zarr(tmp, mode="w", compute=False, zarr_format=3, consolidated=False)
        group = zarr.open_group(tmp, mode="r+", zarr_format=3)
        status = group.create_array(
            "cell_status", shape=shape, chunks=(1, 1, 1), dtype="int8", fill_value=PENDING, dimension_names=CELL_DIMS
        )
        status.attrs.update(long_name="0 pending, 1 done, 2 failed (written after the cell's data)", units="1")
        for name, text in _CELL_TEXT.items():
            arr = group.create_array(
                name, shape=shape, chunks=(1, 1, 1), dtype=str, fill_value="", dimension_names=CELL_DIMS
            )
            arr.attrs.update(long_name=text)
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes 0700; a store is an ordinary folder
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return path


def write_zarr_cell(
    path: str | Path, index: tuple[int, int, int], ds: xr.Dataset | None, status: int, text: Mapping[str, str]
) -> None:
    """Write one cell of a sweep store: its data (if any) and provenance, then its status (the marker).

    Rewriting a cell replaces its chunks whole, so a cell interrupted before its marker is simply run and
    written again.
    """
    import asyncio

    from zarr.api import asynchronous as zarr_async
    from zarr.core.sync import sync

    values = {name: var.values for name, var in (ds.data_vars.items() if ds is not None else ())}
    values |= {name: np.asarray(text.get(name, "")) for name in _CELL_TEXT}

    async def write() -> None:
        group = await zarr_async.open_group(store=str(path), mode="r+", zarr_format=3)

        async def one(name: str, value: np.ndarray) -> None:
            await (await group.getitem(name)).setitem(index, value)

        # All arrays at once: each write waits on file I/O, so issuing them together is ~2x faster per cell.
        await asyncio.gather(*(one(name, value) for name, value in values.items()))
        await one("cell_status", np.asarray(status, dtype="int8"))  # last: the cell is complete

    sync(write())


def read_zarr_attrs(path: str | Path) -> dict[str, Any]:
    """Return the attributes of a sweep store and its ``cell_status`` (an empty dict if it is not a store)."""
    import zarr

    try:
        group = zarr.open_group(path, mode="r", zarr_format=3)
        return {**group.attrs.asdict(), "cell_status": group["cell_status"][...]}
    except (FileNotFoundError, KeyError, ValueError, zarr.errors.NodeTypeValidationError):
        return {}


def open_zarr_store(path: str | Path) -> xr.Dataset:
    """Open a sweep store lazily (Dask arrays, one chunk per cell)."""
    return xr.open_zarr(path, consolidated=False, zarr_format=3)
