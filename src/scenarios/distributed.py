"""Sweeps in this process or on a Dask cluster, streamed block by block into a Zarr store, resumable.

A cell is one (province, what-if, replicate) run; a block is up to :data:`BLOCK` replicates of one
(province, what-if), the unit of work and of storage (the store's chunk along ``replicate``).
:func:`run_sweep` creates the store once (shaped after one run), then runs every block with cells not yet
in it: each task runs its cells and writes its block's region itself (data, then provenance, then
``cell_status``, the completion marker), so the client holds no results and its memory does not grow with
the sweep. With the compartmental engine a block's replicates differ only by their parameter draws, so they
run together through :func:`scenarios.simulate.run_batch` (the same results as one :func:`scenarios.run`
per cell, many times faster); the agent-based engine runs cell by cell, each with its own seed. Rerunning
after a crash or Ctrl-C skips the cells marked done or failed. Seeds come from the cell
(:meth:`Sweep.seed`), never from the order cells run in, so the final store does not depend on the
scheduler, the number of workers or interruptions.

On a cluster, a worker that dies loses only the blocks it was running: Dask runs them again elsewhere, and
since a block is rewritten whole before its markers, no cell is missing or counted twice. A run that fails
for a reason of its own (a parameter draw the config refuses, a run that raises) is recorded as failed, with
its message in ``cell_error``, and the sweep goes on: a block whose batch raises is run again cell by cell,
so the bad draw fails alone. Workers write to the store's path, so on a cluster of several machines the
store must be on a file system they share.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .config import Config, ConfigError, apply_overrides
from .draws import fixed_reason, member_configs
from .ensemble import summarise_crossings
from .indicators import INDICATORS, RAW_INPUTS
from .results import (
    CELL_DIMS,
    DONE,
    FAILED,
    PENDING,
    create_zarr_store,
    open_zarr_store,
    read_zarr_attrs,
    write_zarr_block,
)
from .simulate import run, run_batch
from .sweepfile import Sweep

__all__ = ["BLOCK", "Block", "SweepReport", "dask_client", "run_sweep", "summarise_store"]

#: Replicates of one (province, what-if) per task and per chunk of the store. Batched SEIR runs gain little
#: past a few tens of members, and a block's results (about 0.5 MB per replicate of 180 days) stay small.
BLOCK = 50


@dataclass(frozen=True)
class Block:
    """Everything a worker needs to run and write some replicates of one (province, what-if) (pickled).

    ``replicates`` are consecutive and inside one chunk of the store; ``draws`` and ``seeds`` are theirs.
    """

    province: int
    whatif: int
    replicates: tuple[int, ...]
    config: Config
    draws: tuple[dict[str, Any], ...]
    seeds: tuple[np.random.SeedSequence, ...]
    engine: str
    store: str
    layout: str
    names: tuple[str, ...]  # the store's data variables, in order

    @property
    def cells(self) -> list[tuple[int, int, int]]:
        """The block's cell indices."""
        return [(self.province, self.whatif, r) for r in self.replicates]


@dataclass(frozen=True)
class SweepReport:
    """What one call of :func:`run_sweep` did.

    ``cells`` in the sweep; ``skipped`` already in the store (done or failed) before this call; ``ran`` cells
    run and written by this call, of which ``failed`` failed for their own reason; ``lost`` cells whose
    workers kept dying (still pending: rerun to retry them).
    """

    store: Path
    cells: int
    skipped: int
    ran: int
    failed: int
    lost: int


def _layout(ds: xr.Dataset) -> str:
    """Fingerprint of a run's variables and coordinates: every cell of a store must share them."""
    h = hashlib.sha256()
    for name in sorted(ds.variables, key=str):
        var = ds.variables[name]
        h.update(json.dumps([str(name), list(var.dims), list(var.shape), str(var.dtype)]).encode())
        if name in ds.coords:
            h.update(np.ascontiguousarray(var.values).tobytes())
    return h.hexdigest()


def _seed_text(seq: np.random.SeedSequence) -> str:
    return f"{seq.entropy} spawn_key={seq.spawn_key}"


_OTHER_LAYOUT = (
    "its variables or labels (time axis, criteria, policies...) differ from the sweep's first cell; run it in a "
    "separate sweep"
)


def _error(e: Exception) -> str:
    message = "; ".join(e.problems) if isinstance(e, ConfigError) else str(e)
    return f"{type(e).__name__}: {message}"


def _batched(block: Block) -> list[tuple[xr.Dataset, str]] | None:
    """Run a block's replicates together (compartmental engine), or None when they cannot be batched."""
    keys = list(block.draws[0]) if block.draws else []
    if block.engine != "seir" or any(fixed_reason(k, block.config) is not None for k in keys):
        return None
    if not keys:  # deterministic and nothing drawn: every replicate is the same run
        ds = run(block.config, engine="seir", seed=block.seeds[0])
        return [(ds, ds.attrs["config_sha256"])] * len(block.replicates)
    values = {k: [d[k] for d in block.draws] for k in keys}
    stacked = run_batch(block.config, values, dim="replicate")
    members = member_configs(block.config, values)  # each member's resolved config, as apply_overrides gives
    return [(stacked.isel(replicate=i, drop=True), c.sha256()) for i, c in enumerate(members)]


def _one(block: Block, i: int) -> tuple[xr.Dataset, str]:
    draws = block.draws[i]
    config = apply_overrides(block.config, draws, "draws") if draws else block.config
    ds = run(config, engine=block.engine, seed=block.seeds[i])
    return ds, ds.attrs["config_sha256"]


def run_block(block: Block) -> list[tuple[tuple[int, int, int], int]]:
    """Run a block's cells and write them into the store; return each cell's index and status (DONE or FAILED).

    Batched when the engine and the drawn keys allow it; if the batch raises (a bad draw), every cell is run
    on its own, so only the cells at fault are recorded as failed, each with its message.
    """
    n = len(block.replicates)
    try:
        runs: list[Any] | None = _batched(block)
    # Any failure of the batch is retried cell by cell below, where it is recorded against its own cell.
    except Exception:  # noqa: BLE001
        runs = None
    if runs is None:
        runs = []
        for i in range(n):
            try:
                runs.append(_one(block, i))
            # A run failing for its own reason is recorded, not fatal: the rest of the sweep completes.
            # Worker deaths are not exceptions here; Dask reruns those.
            except Exception as e:  # noqa: BLE001
                runs.append(e)
    status = np.full(n, DONE, dtype="int8")
    text: dict[str, list[str]] = {"cell_seed": [_seed_text(s) for s in block.seeds]}
    text["cell_config_sha256"], text["cell_error"] = [""] * n, [""] * n
    values: dict[str, np.ndarray] = {}
    for i, result in enumerate(runs):
        if not isinstance(result, Exception) and _layout(result[0]) != block.layout:
            result = ValueError(_OTHER_LAYOUT)
        if isinstance(result, Exception):
            status[i], text["cell_error"][i] = FAILED, _error(result)
            continue
        ds, text["cell_config_sha256"][i] = result
        for name in block.names:
            var = ds[name]
            if name not in values:
                values[name] = np.full((n, *var.shape), np.nan if var.dtype.kind == "f" else 0, dtype=var.dtype)
            values[name][i] = var.values
    region = (block.province, block.whatif, slice(block.replicates[0], block.replicates[-1] + 1))
    write_zarr_block(block.store, region, values, status, text)
    return list(zip(block.cells, status.tolist(), strict=True))


def _store_attrs(sweep: Sweep, template: xr.Dataset) -> dict[str, Any]:
    keep = ("threshold_set", "levels", "start_date", "Conventions", "version", "scenario_name", "config_path")
    return {
        **{k: template.attrs[k] for k in keep if k in template.attrs},
        "title": f"scenarios sweep: {sweep.name}",
        "end_date": str(template["time"].values[-1])[:10],
        "sweep_name": sweep.name,
        "sweep_path": str(sweep.path),
        "sweep_text": sweep.text,
        "sweep_fingerprint": sweep.fingerprint(),
        "engine": sweep.engine,
        "seed": str(sweep.entropy),
        "cell_seed_rule": "SeedSequence(seed, spawn_key=(province number, replicate)); same in every what-if",
        "replicates": sweep.replicates,
        "cell_layout": _layout(template),
    }


def _create(sweep: Sweep, store: Path, block: int) -> None:
    # One run shapes the store; it runs here, before any task, because workers write into the store.
    template = run(sweep.configs[(0, 0)], engine=sweep.engine, seed=sweep.seed(0, 0))
    cells = {
        "province": [a.label for a in sweep.areas],
        "whatif": list(sweep.whatifs),
        "replicate": np.arange(sweep.replicates),
    }
    per_province = {
        "area_name": xr.DataArray([a.name for a in sweep.areas], dims="province", attrs={"long_name": "area"}),
        "population_total": xr.DataArray(
            [_population(sweep, p) for p in range(len(sweep.areas))],
            dims="province",
            attrs={"units": "people", "long_name": "population"},
        ),
    }
    create_zarr_store(store, template, cells, per_province, _store_attrs(sweep, template), block=block)


def _population(sweep: Sweep, p: int) -> float:
    from .population import build_population

    return float(build_population(sweep.configs[(p, 0)].population).total)


#: Per-cell arrays of the store that are not a run's variables.
_TEXT = ("cell_status", "cell_seed", "cell_config_sha256", "cell_error")


def _blocks(sweep: Sweep, store: Path, status: np.ndarray, attrs: dict[str, Any]) -> Iterator[Block]:
    """Yield a block for each run of consecutive pending replicates inside one chunk of the store."""
    size = int(attrs.get("cell_block", 1))  # stores made before blocks have one chunk per cell
    names = tuple(
        str(n) for n, v in open_zarr_store(store).data_vars.items() if v.dims[:3] == CELL_DIMS and n not in _TEXT
    )
    for p, w in np.ndindex(*sweep.shape[:2]):
        for start in range(0, sweep.replicates, size):
            pending = [r for r in range(start, min(start + size, sweep.replicates)) if status[p, w, r] == PENDING]
            for run_ in np.split(pending, np.flatnonzero(np.diff(pending) != 1) + 1) if pending else []:
                reps = tuple(int(r) for r in run_)
                yield Block(
                    int(p), int(w), reps, sweep.configs[(p, w)], tuple(sweep.draws(r) for r in reps),
                    tuple(sweep.seed(p, r) for r in reps), sweep.engine, str(store), attrs["cell_layout"], names,
                )  # fmt: skip


def run_sweep(
    sweep: Sweep,
    store: str | Path,
    *,
    client: Any = None,
    window: int | None = None,
    on_cell: Callable[[tuple[int, int, int], int], None] | None = None,
    block: int = BLOCK,
) -> SweepReport:
    """Run the cells of ``sweep`` not yet in ``store``, a block of replicates per task, writing each as it finishes.

    Parameters
    ----------
    sweep : Sweep
        From :func:`scenarios.sweepfile.load_sweep`.
    store : str or Path
        The Zarr store (a folder). Created if absent; if present it must hold this same sweep (its
        ``sweep_fingerprint``), and its done or failed cells are skipped.
    client : distributed.Client, optional
        Run the blocks on this Dask cluster; default one after the other in this process.
    window : int, optional
        Blocks in flight on the cluster at a time (default twice the cluster's threads, plus two): bounds
        the client's memory whatever the number of cells.
    on_cell : callable, optional
        Called with ``(index, status)`` for each cell once its block is written (a progress bar, a test's hook).
    block : int
        Replicates per task and per chunk when the store is created (a store keeps its own on resuming).

    Returns
    -------
    SweepReport

    Raises
    ------
    ConfigError
        ``store`` exists and is not a store of this sweep.
    """
    store = Path(store)
    attrs = read_zarr_attrs(store)
    if store.exists() and not attrs:
        raise ConfigError([f"{store}: exists and is not a sweep store; choose another --out or remove it"])
    if attrs and attrs.get("sweep_fingerprint") != sweep.fingerprint():
        raise ConfigError(
            [
                f"{store}: holds another sweep ({attrs.get('sweep_path', '?')}, or the same file since changed); "
                "choose another --out or remove it"
            ]
        )
    if not attrs:
        _create(sweep, store, block)
        attrs = read_zarr_attrs(store)
    status = attrs["cell_status"]
    skipped = int((status != PENDING).sum())
    blocks = _blocks(sweep, store, status, attrs)
    ran = failed = lost = 0

    def done(results: list[tuple[tuple[int, int, int], int]]) -> None:
        nonlocal ran, failed
        for index, result in results:
            ran += 1
            failed += result == FAILED
            if on_cell is not None:
                on_cell(index, result)

    if client is None:
        for b in blocks:
            done(run_block(b))
    else:
        lost = _on_cluster(client, blocks, window, done)
    return SweepReport(store, int(status.size), skipped, ran, failed, lost)


def _on_cluster(client: Any, blocks: Iterator[Block], window: int | None, done: Callable) -> int:
    """Run blocks on the cluster, at most ``window`` in flight, releasing each future once its block is counted."""
    from distributed import as_completed
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    window = window or 2 * sum(client.nthreads().values()) + 2
    token = uuid.uuid4().hex[:8]
    sizes: dict[str, int] = {}

    def submit(b: Block) -> Any:
        # Keys name the block (readable on the dashboard) and this call, so a rerun on the same scheduler never
        # meets a cancelled task of the interrupted call under the same key.
        key = f"scenarios-block-{b.province}-{b.whatif}-{b.replicates[0]}-{token}"
        sizes[key] = len(b.replicates)
        return client.submit(run_block, b, key=key, retries=2)

    pending = as_completed([submit(b) for b in islice(blocks, window)])
    lost = 0
    try:
        for future in pending:
            try:
                results = future.result()
            except (KilledWorker, FutureCancelledError):  # its workers kept dying: left pending for a rerun
                lost += sizes[future.key]
            else:
                done(results)
            finally:
                sizes.pop(future.key)
                future.release()
            nxt = next(blocks, None)
            if nxt is not None:
                pending.add(submit(nxt))
    except BaseException:  # Ctrl-C or a failure: stop the rest; cells already marked stay in the store
        client.cancel(list(pending.futures))
        raise
    return lost


@contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """Yield a Dask client: on an existing cluster (``scheduler`` address), a new local one, or None.

    Parameters
    ----------
    workers : int, optional
        Start a ``LocalCluster`` of this many single-threaded worker processes on this machine (bound to
        127.0.0.1, dashboard on a free port), closed on exit.
    scheduler : str, optional
        Address of a running scheduler, e.g. ``tcp://10.0.0.5:8786`` (``dask scheduler``/``dask worker``,
        or dask-jobqueue on Slurm). Its workers must have ``scenarios`` installed.
    """
    if scheduler is not None and workers is not None:
        raise ValueError("give workers or scheduler, not both")
    if scheduler is None and workers is None:
        yield None
        return
    import logging

    from distributed import Client, LocalCluster

    with _workers_ignore_ctrl_c():  # only while the workers start: the client itself must hear Ctrl-C
        cluster = (
            None
            if scheduler is not None
            else LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",  # any free port: None means the default 8787, maybe taken
                silence_logs=logging.ERROR,
            )
        )
    # Closing mid-sweep makes the scheduler log the keys it can no longer gather; the caller already says what
    # happened and that a rerun finishes the sweep, so on Ctrl-C Dask's logs are silenced until it has closed.
    levels: dict[str, int] = {}
    try:
        with (
            cluster if cluster is not None else nullcontext(),
            Client(scheduler if cluster is None else cluster) as client,
        ):
            try:
                yield client
            except KeyboardInterrupt:
                for name in {"distributed", *logging.root.manager.loggerDict}:
                    if name.startswith("distributed"):
                        levels[name] = logging.getLogger(name).level
                        logging.getLogger(name).setLevel(logging.CRITICAL)
                raise
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Start worker processes with SIGINT ignored, so Ctrl-C reaches the client alone, which stops them.

    (In a terminal Ctrl-C goes to every process of the group; workers would print their own tracebacks.) A
    child keeps an ignored signal ignored, and Python then installs no KeyboardInterrupt handler in it.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def summarise_store(store: str | Path, quantiles: tuple[float, ...] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
    """Summarise the crossings in a sweep store per province and what-if, reading it block by block.

    Each (province, what-if) block of done replicates is read from the store (only the variables crossings
    need) and summarised by :func:`scenarios.ensemble.summarise_crossings`, so the client holds one block at
    a time, never the whole sweep.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`~scenarios.ensemble.summarise_crossings` (``scenario`` holding the what-if),
        with ``province`` and ``area_name`` in front and ``failed`` (cells of the block that failed).
    """
    ds = open_zarr_store(store)
    names = [n for n in ds.data_vars if n in INDICATORS or n in RAW_INPUTS.values() or str(n).startswith("unmet_")]
    status = ds["cell_status"].values
    tables = []
    for p, province in enumerate(ds["province"].values):
        for w, whatif in enumerate(ds["whatif"].values):
            ok = np.flatnonzero(status[p, w] == DONE)
            if not ok.size:
                continue
            block = ds[names].isel(province=p, whatif=w, replicate=ok).load()
            block = block.drop_vars([d for d in CELL_DIMS[:2] if d in block.coords])
            block = block.expand_dims(scenario=[str(whatif)])
            block.attrs = {**ds.attrs, "population_total": float(ds["population_total"].values[p])}
            table = summarise_crossings(block, quantiles)
            table.insert(0, "area_name", str(ds["area_name"].values[p]))
            table.insert(0, "province", str(province))
            table.insert(table.columns.get_loc("replicates") + 1, "failed", int((status[p, w] == FAILED).sum()))
            tables.append(table)
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
