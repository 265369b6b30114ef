"""Sweep stores (Zarr): one region per (province, what-if, replicate) cell, written as cells finish."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .files import current_umask
from .variables import _attr

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
    block: int = 1,
) -> Path:
    """Create an empty sweep store shaped after one run, built beside ``path`` and renamed into place.

    Every data variable of ``template`` gets the dims :data:`CELL_DIMS` in front, chunked by blocks of
    ``block`` replicates of one (province, what-if): a task writes whole blocks, so no two tasks ever write
    one chunk, and cells are written in any order by any process. Cells start as fill values (NaN, or 0
    for integers) with ``cell_status = PENDING``. Nothing but metadata and coordinates is written here.

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
    block : int
        Replicates per chunk (recorded as the store's ``cell_block`` attribute).
    """
    import dask.array as da
    import zarr

    path = Path(path)
    shape = tuple(len(cells[d]) for d in CELL_DIMS)
    chunks = (1, 1, max(1, min(block, shape[2])))
    data, encoding = {}, {}
    for name, var in template.data_vars.items():
        # One Dask chunk per array, never computed (only metadata is written): the client's graph and memory
        # stay the same whatever the number of cells. The store's chunks come from the encoding.
        array = da.full(shape + var.shape, _fill(var.dtype), dtype=var.dtype, chunks=-1)
        data[name] = xr.Variable(CELL_DIMS + var.dims, array, dict(var.attrs))
        encoding[name] = {"chunks": chunks + var.shape}
    coords = {d: (d, np.asarray(cells[d])) for d in CELL_DIMS}
    ds = xr.Dataset(data, coords={**coords, **template.coords}).assign(dict(per_province))
    ds.attrs.update({k: _attr(v) for k, v in {**attrs, "cell_block": chunks[2]}.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        ds.to_zarr(tmp, mode="w", compute=False, zarr_format=3, consolidated=False, encoding=encoding)
        group = zarr.open_group(tmp, mode="r+", zarr_format=3)
        status = group.create_array(
            "cell_status", shape=shape, chunks=chunks, dtype="int8", fill_value=PENDING, dimension_names=CELL_DIMS
        )
        status.attrs.update(long_name="0 pending, 1 done, 2 failed (written after the cell's data)", units="1")
        for name, text in _CELL_TEXT.items():
            arr = group.create_array(
                name, shape=shape, chunks=chunks, dtype=str, fill_value="", dimension_names=CELL_DIMS
            )
            arr.attrs.update(long_name=text)
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes 0700; a store is an ordinary folder
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return path


def _fill(dtype: np.dtype) -> Any:
    """Fill value of a store's data variable: what a pending or failed cell reads."""
    return np.nan if np.issubdtype(dtype, np.floating) else 0


def write_zarr_block(
    path: str | Path,
    region: tuple[int, int, slice],
    values: Mapping[str, np.ndarray],
    status: np.ndarray,
    text: Mapping[str, Sequence[str]],
) -> None:
    """Write replicates ``region`` of one (province, what-if) of a sweep store: data, provenance, then status.

    ``values`` holds each data variable with the replicates along its first axis (rows of failed cells hold
    the fill value; absent variables are left as they are); ``status`` (DONE or FAILED per replicate) is
    written last, as the completion marker. Rewriting a region replaces it whole, so cells interrupted
    before their marker are simply run and written again.
    """
    import asyncio

    from zarr.api import asynchronous as zarr_async
    from zarr.core.sync import sync

    arrays = dict(values) | {name: np.asarray(text.get(name, [""] * len(status))) for name in _CELL_TEXT}

    async def write() -> None:
        group = await zarr_async.open_group(store=str(path), mode="r+", zarr_format=3)

        async def one(name: str, value: np.ndarray) -> None:
            await (await group.getitem(name)).setitem(region, value)

        # All arrays at once: each write waits on file I/O, so issuing them together is ~2x faster.
        await asyncio.gather(*(one(name, value) for name, value in arrays.items()))
        await one("cell_status", np.asarray(status, dtype="int8"))  # last: the cells are complete

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
    """Open a sweep store lazily (Dask arrays, one chunk per block of replicates)."""
    return xr.open_zarr(path, consolidated=False, zarr_format=3)
