"""Sweep throughput, client memory and store size: in-process (today's ``scenarios.sweep``) vs the Zarr runner.

Part 1, throughput and size, runs the same sweep (``--provinces`` provinces x 1 what-if x replicates,
``--cells`` cells in all, short horizon) four ways in this process:

- ``ensemble.sweep``: the in-memory sweep, one call per province (replicates batched), every run kept;
- ``store, in-process``: :func:`scenarios.distributed.run_sweep` without a cluster;
- ``store, 1 worker`` and ``store, 2 workers``: on a ``LocalCluster`` of single-threaded worker processes
  (what ``scenarios sweep --workers N`` starts).

Store size is the sum of the store's file sizes (and the disk blocks they take) and its file count, against
the same results written as NetCDF by ``results.write_netcdf``.

Part 2, client memory against the number of cells (``--memory-cells``): each run in a fresh child process,
2 workers, (a) on a ``LocalCluster`` whose scheduler lives in the client process (as the CLI's ``--workers``),
(b) on a separate ``dask scheduler`` and ``dask worker`` processes (as ``--scheduler``), where the scheduler's
own memory is read apart. Peak memory is the largest resident set size above its level just before
``run_sweep`` (sampled every 20 ms), after the client has imported and run the model once (it runs one cell
to shape the store). ``--block 1`` runs one cell per task (the runner before blocks).

    .venv/bin/python benchmarks/sweep_dask.py                                   # 1,000 cells; memory at 200/1,000/3,000
    .venv/bin/python benchmarks/sweep_dask.py --cells 200 --memory-cells 100,400  # quicker

On a shared machine the absolute numbers move with the load (printed with ``uptime``); CPU seconds and
ratios less so.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROVINCES = ["An Giang", "Cà Mau", "Cần Thơ", "Đồng Tháp", "Vĩnh Long", "Tây Ninh", "Đồng Nai", "Lâm Đồng",
             "Gia Lai", "Đắk Lắk", "Khánh Hòa", "Quảng Ngãi"]  # fmt: skip
KEY = "variants.new.transmissibility_multiplier"


class PeakRSS:
    """Largest resident set size of this process while in the block, above its level on entry (MB)."""

    def __enter__(self) -> PeakRSS:
        self.base = self.peak = rss()
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.running = False
        self.thread.join()

    def _sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss())
            time.sleep(0.02)

    @property
    def mb(self) -> float:
        return self.peak - self.base


def rss() -> float:
    """Resident set size of this process (MB)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1e6


def _cpu() -> float:
    """User and system CPU seconds of this process so far."""
    t = os.times()
    return t.user + t.system


def _warm(config) -> None:
    """Import and load the compiled kernels in a worker, outside the timing."""
    from scenarios.simulate import run_batch

    run_batch(config, {KEY: [1.5, 1.6]})


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _sizes(path: Path) -> tuple[int, int, int]:
    files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
    return sum(p.stat().st_size for p in files), sum(p.stat().st_blocks * 512 for p in files), len(files)


def _sweep_file(folder: Path, provinces: list[str], replicates: int, horizon: int) -> Path:
    shutil.copytree(ROOT / "configs", folder / "configs", dirs_exist_ok=True)  # configs read their own folder only
    base = folder / "base.toml"
    base.write_text(f'extends = "configs/an_giang_new_variant.toml"\n[scenario]\nhorizon_days = {horizon}\n')
    path = folder / f"sweep_{len(provinces)}x{replicates}.toml"
    names = ", ".join(f'"{p}"' for p in provinces)
    path.write_text(
        f'base = "base.toml"\nprovinces = [{names}]\nreplicates = {replicates}\nseed = 1\n'
        f'[vary]\n"{KEY}" = {{low = 1.3, high = 1.9}}\n',
        encoding="utf-8",
    )
    return path


def _shape(cells: int, provinces: int) -> tuple[list[str], int]:
    names = PROVINCES[:provinces]
    return names, max(1, cells // len(names))


def throughput(args: argparse.Namespace, folder: Path) -> None:
    import numpy as np
    import xarray as xr

    import scenarios
    from scenarios.config import find_province
    from scenarios.distributed import dask_client, run_sweep
    from scenarios.results import open_zarr_store, write_netcdf
    from scenarios.sweepfile import load_sweep

    provinces, replicates = _shape(args.cells, args.provinces)
    cells = replicates * len(provinces)
    print(f"{cells} cells = {len(provinces)} provinces x 1 what-if x {replicates} replicates, {args.horizon} days")
    sweep = load_sweep(_sweep_file(folder, provinces, replicates, args.horizon))
    rows, cpu, stores = [], {}, {}

    # The in-memory sweep: one call per province (it takes one config), every run kept until the end.
    client_cpu, t = _cpu(), time.perf_counter()
    results = [
        scenarios.sweep(sweep.configs[(p, 0)], vary={KEY: (1.3, 1.9)}, replicates=replicates, seed=1)
        for p in range(len(sweep.areas))
    ]
    rows.append(("ensemble.sweep (in memory, batched SEIR)", cells, time.perf_counter() - t))
    cpu[rows[-1][0]] = ((_cpu() - client_cpu) / cells, 0.0)
    nc = folder / "same_results.nc"
    codes = [find_province(a.label).code for a in sweep.areas]
    joined = xr.concat(results, dim=xr.DataArray(codes, dims="province", name="province"),
                       combine_attrs="drop_conflicts", coords="minimal", compat="override")  # fmt: skip
    write_netcdf(joined, nc)
    expected = joined["new_infections"].sum(["time", "age_group"]).values  # (province, scenario, replicate)
    del results, joined

    for label, workers in [("store, in-process", None), ("store, 1 worker", 1), ("store, 2 workers", 2)]:
        store = folder / (label.replace(" ", "_").replace(",", "") + ".zarr")
        with dask_client(workers=workers) as client:
            if client is not None:
                client.run(_warm, sweep.configs[(0, 0)])
            workers_cpu = sum(client.run(_cpu).values()) if client is not None else 0.0
            client_cpu, t = _cpu(), time.perf_counter()
            report = run_sweep(sweep, store, client=client, block=args.block)
            seconds = time.perf_counter() - t
            client_cpu = _cpu() - client_cpu
            workers_cpu = (sum(client.run(_cpu).values()) if client is not None else 0.0) - workers_cpu
        assert report.ran == report.cells and report.lost == 0 and report.failed == 0, report
        got = open_zarr_store(store)["new_infections"].sum(["time", "age_group"]).values  # (province, what-if, rep)
        assert np.allclose(got, expected, rtol=1e-12), f"{label}: the store differs from the in-memory sweep"
        rows.append((label, report.cells, seconds))
        cpu[label] = (client_cpu / report.cells, workers_cpu / report.cells)
        stores[label] = store

    print()
    print("| run | cells | seconds | cells/s | vs 1 worker | CPU s per cell: client | workers |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    one = next(r for r in rows if r[0] == "store, 1 worker")
    for label, n, seconds in rows:
        ratio = (n / seconds) / (one[1] / one[2])
        c, w = cpu[label]
        print(f"| {label} | {n} | {seconds:.1f} | {n / seconds:.1f} | {ratio:.2f}x | {c:.4f} | {w:.4f} |")
    # With two idle cores, one worker is bound by its own CPU per cell, two workers by the total CPU per cell
    # (client and scheduler included) shared over two cores.
    w1, c2 = cpu["store, 1 worker"][1], sum(cpu["store, 2 workers"])
    print(f"\nprojected 2-worker / 1-worker throughput on two idle cores: {min(2.0, 2 * w1 / c2):.2f}x")
    zarr_bytes, zarr_disk, zarr_files = _sizes(stores["store, in-process"])
    nc_bytes, nc_disk, _ = _sizes(nc)
    print()
    print("| results | bytes | on disk (blocks) | files |")
    print("|---|---:|---:|---:|")
    print(f"| Zarr store (block {args.block}) | {zarr_bytes / 1e6:.1f} MB | {zarr_disk / 1e6:.1f} MB | {zarr_files} |")
    print(f"| NetCDF (scipy, uncompressed) | {nc_bytes / 1e6:.1f} MB | {nc_disk / 1e6:.1f} MB | 1 |")


def memory(args: argparse.Namespace, folder: Path) -> None:
    """Client memory at several sizes, each run in a fresh child process, scheduler in or out of it."""
    sizes = [int(n) for n in args.memory_cells.split(",")]
    scheduler_file = folder / "scheduler.json"
    log = open(folder / "cluster.log", "w")  # noqa: SIM115 - closed with the processes below
    procs = [
        subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port",
                          "0", "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(scheduler_file)],
                         stdout=log, stderr=log, start_new_session=True),
    ]  # fmt: skip
    try:
        while not scheduler_file.exists():
            time.sleep(0.2)
        procs.append(
            subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file",
                              str(scheduler_file), "--nworkers", "2", "--nthreads", "1", "--host", "127.0.0.1"],
                             stdout=log, stderr=log, start_new_session=True)
        )  # fmt: skip
        print()
        print(f"Client memory, 2 workers, block {args.block} (each run in a fresh process):")
        print("| cells | tasks | scheduler | seconds | peak client growth (MB) | scheduler growth (MB) |")
        print("|---:|---:|---|---:|---:|---:|")
        for n in sizes:
            provinces, replicates = _shape(n, args.provinces)
            path = _sweep_file(folder, provinces, replicates, args.horizon)
            tasks = len(provinces) * -(-replicates // args.block)
            for where in ("local cluster (in client)", "separate processes"):
                store = folder / f"mem_{n}_{where.split()[0]}.zarr"
                cmd = [sys.executable, __file__, "--child", str(path), str(store), "--block", str(args.block)]
                cmd += ["--scheduler-file", str(scheduler_file)] if where.startswith("separate") else []
                out = json.loads(
                    subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1]
                )
                sched = f"{out['scheduler_mb']:.1f}" if out["scheduler_mb"] is not None else "(in client)"
                print(
                    f"| {out['cells']} | {tasks} | {where} | {out['seconds']:.1f} | {out['client_mb']:.1f} | {sched} |"
                )
                shutil.rmtree(store, ignore_errors=True)
    finally:
        for proc in reversed(procs):
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        log.close()


def child(args: argparse.Namespace) -> None:
    """Run one sweep on 2 workers and print its client (and scheduler) memory growth as JSON."""
    from scenarios.distributed import dask_client, run_sweep
    from scenarios.sweepfile import load_sweep

    sweep = load_sweep(args.child[0])
    if args.scheduler_file:
        address = json.loads(Path(args.scheduler_file).read_text())["address"]
        context = dask_client(scheduler=address)
    else:
        context = dask_client(workers=2)
    with context as client:
        client.run(_warm, sweep.configs[(0, 0)])
        _warm(sweep.configs[(0, 0)])  # the client runs one cell to shape the store: its imports are not per cell
        on_scheduler = client.run_on_scheduler(rss) if args.scheduler_file else None
        with PeakRSS() as mem:
            t = time.perf_counter()
            report = run_sweep(sweep, args.child[1], client=client, block=args.block)
            seconds = time.perf_counter() - t
        scheduler_mb = client.run_on_scheduler(rss) - on_scheduler if args.scheduler_file else None
    assert report.ran == report.cells and report.lost == 0, report
    print(json.dumps({"cells": report.cells, "seconds": seconds, "client_mb": mem.mb, "scheduler_mb": scheduler_mb}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cells", type=int, default=1000)
    ap.add_argument("--provinces", type=int, default=10)
    ap.add_argument("--horizon", type=int, default=14, help="days per run (short: the runs are not the point)")
    ap.add_argument("--block", type=int, default=50, help="replicates per task and per chunk")
    ap.add_argument("--memory-cells", default="200,1000,3000", help="sizes for client memory ('' to skip)")
    ap.add_argument("--no-throughput", action="store_true", help="only the memory part")
    ap.add_argument("--child", nargs=2, metavar=("SWEEP", "STORE"), help=argparse.SUPPRESS)
    ap.add_argument("--scheduler-file", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    folder = Path(tempfile.mkdtemp(prefix="sweep_bench_"))
    print(f"uptime: {_uptime()}")
    try:
        if not args.no_throughput:
            throughput(args, folder)
        if args.memory_cells:
            memory(args, folder)
        print(f"\nuptime: {_uptime()}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # run the clean-up of the temporary folder
    main()
