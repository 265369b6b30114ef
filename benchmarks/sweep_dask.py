"""Sweep throughput, client memory and store size: in-process (today's ``scenarios.sweep``) vs the Zarr runner.

Runs the same sweep (``--provinces`` provinces x 1 what-if x replicates, ``--cells`` cells in all, short
horizon) five ways and prints a table:

- ``ensemble.sweep``: today's in-memory sweep, one call per province, every run kept until the end;
- ``store, in-process``: :func:`scenarios.distributed.run_sweep` without a cluster;
- ``store, 1 worker`` and ``store, 2 workers``: on a ``LocalCluster`` of single-threaded worker processes;
- ``store, 2 workers, 1/4 cells``: the same at a quarter of the cells, to show the client's memory does not
  grow with the number of cells.

Peak client memory is the largest resident set size of this process above its level before each run
(sampled every 20 ms). Store size is the sum of the store's file sizes (and the disk blocks they take)
against the same results written as NetCDF by ``results.write_netcdf``.

    .venv/bin/python benchmarks/sweep_dask.py                 # 1,000 cells, 14-day horizon
    .venv/bin/python benchmarks/sweep_dask.py --cells 200     # quicker

On a shared machine the absolute numbers move with the load (printed with ``uptime``); ratios less so.
"""

from __future__ import annotations

import argparse
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

import xarray as xr

import scenarios
from scenarios.config import find_province
from scenarios.distributed import dask_client, run_sweep
from scenarios.results import write_netcdf
from scenarios.sweepfile import load_sweep

ROOT = Path(__file__).resolve().parents[1]
PROVINCES = ["An Giang", "Cà Mau", "Cần Thơ", "Đồng Tháp", "Vĩnh Long", "Tây Ninh", "Đồng Nai", "Lâm Đồng",
             "Gia Lai", "Đắk Lắk", "Khánh Hòa", "Quảng Ngãi"]  # fmt: skip


class PeakRSS:
    """Largest resident set size of this process while in the block, above its level on entry (MB)."""

    def __enter__(self) -> PeakRSS:
        self.base = self.peak = self._rss()
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.running = False
        self.thread.join()

    @staticmethod
    def _rss() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 1e6

    def _sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, self._rss())
            time.sleep(0.02)

    @property
    def mb(self) -> float:
        return self.peak - self.base


def _cpu() -> float:
    """User and system CPU seconds of this process so far."""
    t = os.times()
    return t.user + t.system


def _workers_cpu(client) -> float:
    return sum(client.run(_cpu).values()) if client is not None else 0.0


def _sizes(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
    return sum(p.stat().st_size for p in files), sum(p.stat().st_blocks * 512 for p in files)


def _sweep_file(folder: Path, provinces: list[str], replicates: int, horizon: int) -> Path:
    shutil.copytree(ROOT / "configs", folder / "configs", dirs_exist_ok=True)  # configs read their own folder only
    base = folder / "base.toml"
    base.write_text(f'extends = "configs/an_giang_new_variant.toml"\n[scenario]\nhorizon_days = {horizon}\n')
    path = folder / f"sweep_{replicates}.toml"
    names = ", ".join(f'"{p}"' for p in provinces)
    path.write_text(
        f'base = "base.toml"\nprovinces = [{names}]\nreplicates = {replicates}\nseed = 1\n'
        '[vary]\n"variants.new.transmissibility_multiplier" = {low = 1.3, high = 1.9}\n',
        encoding="utf-8",
    )
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cells", type=int, default=1000)
    ap.add_argument("--provinces", type=int, default=10)
    ap.add_argument("--horizon", type=int, default=14, help="days per run (short: the runs are not the point)")
    args = ap.parse_args()
    provinces = PROVINCES[: args.provinces]
    replicates = max(1, args.cells // len(provinces))
    cells = replicates * len(provinces)
    folder = Path(tempfile.mkdtemp(prefix="sweep_bench_"))
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print(f"{cells} cells = {len(provinces)} provinces x 1 what-if x {replicates} replicates, {args.horizon} days")
    rows = []
    try:
        sweep = load_sweep(_sweep_file(folder, provinces, replicates, args.horizon))
        quarter = load_sweep(_sweep_file(folder, provinces, max(1, replicates // 4), args.horizon))

        # Today's sweep: one call per province (ensemble.sweep takes one config), every run in memory.
        with PeakRSS() as mem:
            t = time.perf_counter()
            results = []
            vary = {"variants.new.transmissibility_multiplier": (1.3, 1.9)}
            for p in range(len(sweep.areas)):
                results.append(scenarios.sweep(sweep.configs[(p, 0)], vary=vary, replicates=replicates, seed=1))
            seconds = time.perf_counter() - t
        rows.append(("ensemble.sweep (in memory)", cells, seconds, mem.mb))
        nc = folder / "same_results.nc"
        codes = [find_province(a.label).code for a in sweep.areas]
        joined = xr.concat(results, dim=xr.DataArray(codes, dims="province", name="province"),
                           combine_attrs="drop_conflicts", coords="minimal", compat="override")  # fmt: skip
        write_netcdf(joined, nc)
        del results, joined

        runs = [("store, in-process", sweep, None), ("store, 1 worker", sweep, 1), ("store, 2 workers", sweep, 2)]
        runs.append(("store, 2 workers, 1/4 cells", quarter, 2))
        stores, cpu = {}, {}
        for label, spec, workers in runs:
            store = folder / (label.replace(" ", "_").replace(",", "").replace("/", "_") + ".zarr")
            with dask_client(workers=workers) as client:
                if client is not None:  # warm the workers (imports) outside the timing
                    client.run(lambda: __import__("scenarios.simulate"))
                workers_cpu = _workers_cpu(client)
                client_cpu = _cpu()
                with PeakRSS() as mem:
                    t = time.perf_counter()
                    report = run_sweep(spec, store, client=client)
                    seconds = time.perf_counter() - t
                client_cpu = _cpu() - client_cpu
                workers_cpu = _workers_cpu(client) - workers_cpu
            assert report.ran == report.cells and report.lost == 0, report
            rows.append((label, report.cells, seconds, mem.mb))
            cpu[label] = (client_cpu / report.cells, workers_cpu / report.cells)
            stores[label] = store

        print()
        print("| run | cells | seconds | cells/s | vs 1 worker | peak client memory (MB) |")
        print("|---|---:|---:|---:|---:|---:|")
        one = next(r for r in rows if r[0] == "store, 1 worker")
        for label, n, seconds, mb in rows:
            ratio = (n / seconds) / (one[1] / one[2])
            print(f"| {label} | {n} | {seconds:.1f} | {n / seconds:.2f} | {ratio:.2f}x | {mb:.0f} |")
        print()
        print("CPU seconds per cell (robust to other load; the scheduler runs in the client process):")
        print("| run | client | workers |")
        print("|---|---:|---:|")
        for label, (c, w) in cpu.items():
            print(f"| {label} | {c:.3f} | {w:.3f} |")
        # With two idle cores, one worker is bound by its own CPU per cell, two workers by the total CPU per
        # cell (client and scheduler included) shared over two cores.
        w1 = cpu["store, 1 worker"][1]
        c2 = sum(cpu["store, 2 workers"])
        print(f"projected 2-worker / 1-worker throughput on two idle cores: {min(2.0, 2 * w1 / c2):.2f}x")
        zarr_bytes, zarr_disk = _sizes(stores["store, in-process"])
        nc_bytes, nc_disk = _sizes(nc)
        print()
        print("| results | bytes | on disk (blocks) | files |")
        print("|---|---:|---:|---:|")
        n_files = sum(1 for p in stores["store, in-process"].rglob("*") if p.is_file())
        print(f"| Zarr store | {zarr_bytes / 1e6:.1f} MB | {zarr_disk / 1e6:.1f} MB | {n_files} |")
        print(f"| NetCDF (scipy, uncompressed) | {nc_bytes / 1e6:.1f} MB | {nc_disk / 1e6:.1f} MB | 1 |")
        print(f"\nuptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # run the clean-up of the temporary folder
    main()
