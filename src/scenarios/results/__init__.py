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

The package is split by concern: ``variables`` (the schema and CF units), ``recorder`` (a run's daily values
into a Dataset), ``files`` (atomic files and folders, NetCDF) and ``store`` (a sweep's Zarr store).
Everything public is re-exported here.
"""

from .files import (
    ResultsError,
    cf_encode,
    current_umask,
    output_folder,
    read_netcdf,
    swap_into_place,
    write_atomic,
    write_csv,
    write_netcdf,
)
from .recorder import Recorder
from .store import (
    CELL_DIMS,
    DONE,
    FAILED,
    PENDING,
    create_zarr_store,
    open_zarr_store,
    read_zarr_attrs,
    write_zarr_block,
)
from .variables import COORD_NAMES, FLOW, STOCK, VARIABLES, cf_units, over_ages

__all__ = [
    "CELL_DIMS",
    "COORD_NAMES",
    "DONE",
    "FAILED",
    "FLOW",
    "PENDING",
    "STOCK",
    "VARIABLES",
    "Recorder",
    "ResultsError",
    "cf_encode",
    "cf_units",
    "create_zarr_store",
    "current_umask",
    "open_zarr_store",
    "output_folder",
    "over_ages",
    "read_netcdf",
    "read_zarr_attrs",
    "swap_into_place",
    "write_atomic",
    "write_csv",
    "write_netcdf",
    "write_zarr_block",
]
