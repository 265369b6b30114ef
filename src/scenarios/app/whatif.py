"""A what-if as the page holds it: a base TOML file plus the values changed on the page.

The page never builds a config its own way: it calls :func:`scenarios.load_config` with the base file and
the changes as overrides (what ``scenarios run BASE --set KEY=VALUE`` does), checks it as ``scenarios
validate`` does, and runs it with :func:`scenarios.run` or :func:`scenarios.sweep`.
"""

from __future__ import annotations

import datetime as dt
import io
import tempfile
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import xarray as xr

from ..config import Config, ConfigError, load_config
from ..config import to_toml as config_toml
from ..ensemble import sweep
from ..indicators import crossings, threshold_set_of, write_crossings
from ..report import write_report
from ..results import write_netcdf
from ..simulate import run

__all__ = [
    "TEMPLATE",
    "ConfigError",
    "WhatIf",
    "area_overrides",
    "errors_by_key",
    "execute",
    "report_zip",
    "results_zip",
    "shipped_configs",
    "to_toml",
]

TEMPLATE = Path(str(resources.files("scenarios.app") / "province_new_variant.toml"))


def shipped_configs(extra: Path | None = None) -> dict[str, Path]:
    """List the what-ifs shipped in ``configs/`` (of the working folder, else of the checkout), by file name.

    Examples
    --------
    >>> "an_giang_new_variant.toml" in shipped_configs()
    True
    """
    roots = [Path.cwd() / "configs", Path(__file__).resolve().parents[3] / "configs"]
    for root in roots:
        if root.is_dir():
            found = {p.name: p for p in sorted(root.glob("*.toml"))}
            if extra is not None:
                found[extra.name] = extra  # the file asked for wins over a shipped one of the same name
            return found
    return {extra.name: extra} if extra is not None else {}


def area_overrides(
    province: str | None, total: int | None = None, name: str | None = None, threshold_set: str | None = None
) -> dict[str, Any]:
    """Return overrides that put the template what-if in a province or a small area.

    Examples
    --------
    >>> area_overrides("ha noi")
    {'population.province': 'ha noi'}
    >>> area_overrides(None, 80000, "Phong Thổ", "small_area_phongtho")  # doctest: +NORMALIZE_WHITESPACE
    {'population.province': None, 'population.total': 80000, 'population.name': 'Phong Thổ',
     'thresholds.set': 'small_area_phongtho'}
    """
    out: dict[str, Any] = {"population.province": province}
    if total is not None:
        out["population.total"] = total
    if name:
        out["population.name"] = name
    if threshold_set:
        out["thresholds.set"] = threshold_set
    return out


@dataclass
class WhatIf:
    """A base file and the values changed on the page (dotted keys, as ``--set``)."""

    base: Path
    changes: dict[str, Any] = field(default_factory=dict)

    def base_config(self) -> Config:
        """Load the base file alone (raises :class:`ConfigError` when the file itself cannot be used)."""
        return load_config(self.base)

    def config(self) -> Config:
        """Validate the what-if; :class:`ConfigError` lists every problem as ``scenarios validate`` does."""
        config = load_config(self.base, self.changes)
        threshold_set_of(config)  # also checks the threshold set, policy triggers and surge steps
        return config


def errors_by_key(problems: list[str], keys: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Split :class:`ConfigError` lines into those about a page field (by dotted key) and the rest.

    Examples
    --------
    >>> errors_by_key(["--set: capacity.beds_icu: too small", "x.toml: scenario: bad"], ["capacity.beds_icu"])
    ({'capacity.beds_icu': ['--set: capacity.beds_icu: too small']}, ['x.toml: scenario: bad'])
    """
    by_key: dict[str, list[str]] = {}
    rest = []
    for line in problems:
        key = next((k for k in sorted(keys, key=len, reverse=True) if f": {k}:" in line or f": {k}." in line), None)
        if key is None:
            rest.append(line)
        else:
            by_key.setdefault(key, []).append(line)
    return by_key, rest


def to_toml(config: Config, whatif: WhatIf | None = None) -> str:
    """Write a config as a stand-alone TOML file that :func:`scenarios.load_config` reads back the same.

    Only the values set in the files or on the page are written (defaults stay defaults), with a header
    saying where it came from, so ``scenarios run`` on it gives the page's results.
    """
    head = [f"Written by the scenarios app on {dt.date.today().isoformat()}."]
    if whatif is not None:
        head.append(f"Started from {whatif.base.name}; changed on the page:")
        head += [f"  {k} = {v!r}" for k, v in whatif.changes.items()]
    head.append("Run it from a terminal with: scenarios run THIS_FILE")
    return config_toml(config, head)


def execute(config: Config, engine: str = "seir", replicates: int = 1, seed: int = 0, progress: bool = False):
    """Run a what-if: :func:`scenarios.run` for one run, :func:`scenarios.sweep` for replicates."""
    if replicates > 1:
        return sweep(config, replicates=replicates, engine=engine, seed=seed, progress=progress)
    return run(config, engine=engine, seed=seed, progress=progress)


def results_zip(ds: xr.Dataset) -> bytes:
    """Zip ``results.nc`` and ``crossings.csv`` of a run, as ``scenarios run`` writes them."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = [
            write_netcdf(ds, Path(tmp) / "results.nc"),
            write_crossings(crossings(ds), Path(tmp) / "crossings.csv"),
        ]
        return _zip(paths, Path(tmp))


def report_zip(ds: xr.Dataset, lang: str) -> bytes:
    """Zip the annex bundle of :func:`scenarios.report.write_report` (figures, tables, annex.pdf), zipped."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_report(tmp, lang=lang, ds=ds)
        return _zip(sorted(p for p in folder.rglob("*") if p.is_file()), Path(tmp))


def _zip(paths: list[Path], root: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p in paths:
            z.write(p, p.relative_to(root).as_posix())
    return buf.getvalue()
