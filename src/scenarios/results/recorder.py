"""Collect a run's daily values and build its results Dataset."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .variables import VARIABLES, _attr


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
