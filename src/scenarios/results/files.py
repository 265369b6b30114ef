"""Writing results safely: atomic files and folders, CF-encoded NetCDF, and reading our NetCDF back."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .variables import COORD_NAMES, cf_units


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
