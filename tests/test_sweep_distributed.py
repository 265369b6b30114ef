"""Sweep files, the Zarr store and the Dask runner: in-process, on a 2-worker LocalCluster, killed, resumed."""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from scenarios import ConfigError, cli
from scenarios.distributed import dask_client, run_sweep, summarise_store
from scenarios.results import DONE, FAILED, PENDING, open_zarr_store
from scenarios.sweepfile import load_sweep

ROOT = Path(__file__).resolve().parents[1]


def _write(folder: Path, body: str, name: str = "sweep.toml") -> Path:
    # Configs read files from their own folder only: bring the shipped ones along.
    shutil.copytree(ROOT / "configs", folder / "configs", dirs_exist_ok=True)
    (folder / "base.toml").write_text('extends = "configs/an_giang_new_variant.toml"\n[scenario]\nhorizon_days = 21\n')
    path = folder / name
    path.write_text(body, encoding="utf-8")
    return path


SWEEP = """
base = "base.toml"
provinces = ["An Giang", "Cà Mau"]
replicates = 2
seed = 7
[whatifs.base]
[whatifs."escape 0.8"]
"variants.new.immune_escape" = 0.8
[vary]
"variants.new.transmissibility_multiplier" = {low = 1.3, high = 1.9}
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("sweep")


@pytest.fixture(scope="module")
def sweep(folder):
    return load_sweep(_write(folder, SWEEP))


@pytest.fixture(scope="module")
def reference(sweep, folder) -> xr.Dataset:
    """The sweep run in this process, uninterrupted: what every other way of running it must reproduce."""
    report = run_sweep(sweep, folder / "reference.zarr")
    assert (report.ran, report.skipped, report.failed, report.lost) == (8, 0, 0, 0)
    return open_zarr_store(folder / "reference.zarr").load()


@pytest.fixture(scope="module")
def client():
    with dask_client(workers=2) as c:
        yield c


def _store(path: Path) -> xr.Dataset:
    return open_zarr_store(path).load()


def _interrupt_at(n: int):
    """An ``on_cell`` hook that raises KeyboardInterrupt (as Ctrl-C would) at the n-th cell written."""
    count = Counter()

    def hook(index, status):
        count["cells"] += 1
        if count["cells"] == n:
            raise KeyboardInterrupt

    return hook


def test_cells_differ_by_draw_and_share_seeds_across_whatifs(reference):
    assert (reference["cell_status"] == DONE).all()
    seeds = reference["cell_seed"]
    assert (seeds.sel(whatif="base") == seeds.sel(whatif="escape 0.8")).all()  # common random numbers
    assert len(set(seeds.values.ravel())) == 4  # 2 provinces x 2 replicates
    peak = reference["new_infections"].sum(["age_group", "time"])
    assert len(np.unique(peak.sel(province="VN91", whatif="base").values)) == 2  # the vary draws differ
    assert float(peak.sel(whatif="escape 0.8").sum()) > float(peak.sel(whatif="base").sum())


def test_cluster_gives_the_in_process_store(sweep, folder, client, reference):
    report = run_sweep(sweep, folder / "cluster.zarr", client=client)
    assert (report.ran, report.lost) == (8, 0)
    xr.testing.assert_identical(_store(folder / "cluster.zarr"), reference)


def test_worker_killed_mid_sweep_loses_nothing(sweep, folder, client, reference):
    pids = list(client.run(os.getpid).values())
    seen = Counter()

    def kill_once(index, status):
        seen[index] += 1
        if sum(seen.values()) == 2:  # cells are in flight on both workers: kill one of them
            os.kill(pids[0], signal.SIGKILL)

    report = run_sweep(sweep, folder / "killed.zarr", client=client, on_cell=kill_once)
    assert report.lost == 0 and report.ran == 8
    assert set(seen) == set(np.ndindex(*sweep.shape)) and set(seen.values()) == {1}
    client.wait_for_workers(2, timeout=60)  # the nanny restarts it
    xr.testing.assert_identical(_store(folder / "killed.zarr"), reference)


def test_interrupted_then_resumed_runs_only_missing_cells(sweep, folder, reference):
    store = folder / "resumed.zarr"

    with pytest.raises(KeyboardInterrupt):
        run_sweep(sweep, store, on_cell=_interrupt_at(3))
    status = _store(store)["cell_status"].values
    assert int((status == PENDING).sum()) == 4  # two blocks (province, what-if) of 2 replicates were written
    ran = []
    report = run_sweep(sweep, store, on_cell=lambda i, s: ran.append(i))
    assert (report.skipped, report.ran) == (4, 4)
    assert sorted(ran) == sorted(map(tuple, np.argwhere(status == PENDING).tolist()))  # only the missing cells
    xr.testing.assert_identical(_store(store), reference)


def test_batched_blocks_equal_per_cell_runs(sweep, reference):
    """A block of SEIR replicates runs as one batch: each cell is what its own scenarios.run gives."""
    from scenarios.config import apply_overrides
    from scenarios.simulate import run

    for p, w, r in [(0, 0, 0), (1, 1, 1)]:
        config = apply_overrides(sweep.configs[(p, w)], sweep.draws(r), "draws")
        one = run(config, engine=sweep.engine, seed=sweep.seed(p, r))
        cell = reference.isel(province=p, whatif=w, replicate=r)
        assert str(cell["cell_config_sha256"].values) == one.attrs["config_sha256"]
        for name in one.data_vars:  # run_batch equals run to rounding error (measured: bit for bit)
            np.testing.assert_allclose(cell[name].values, one[name].values, rtol=1e-12, atol=0, err_msg=name)


def test_abm_blocks_run_each_cell_with_its_own_seed(tmp_path):
    """The agent-based engine is not batched: a block's cells are the runs of their own seeds and draws."""
    from scenarios.config import apply_overrides
    from scenarios.simulate import run

    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    (tmp_path / "small.toml").write_text(
        'extends = "configs/phong_tho_new_variant.toml"\n[scenario]\nstart_date = 2026-12-15\nhorizon_days = 14\n'
    )
    body = 'base = "small.toml"\nengine = "abm"\nreplicates = 3\nseed = 5\n'
    body += '[vary]\n"variants.new.imported_per_day" = {low = 1, high = 9}\n'
    (tmp_path / "abm.toml").write_text(body)
    sweep = load_sweep(tmp_path / "abm.toml")
    report = run_sweep(sweep, tmp_path / "abm.zarr", block=2)  # blocks of replicates (0, 1) and (2,)
    assert (report.ran, report.failed) == (3, 0)
    store = _store(tmp_path / "abm.zarr")
    totals = []
    for r in range(3):
        config = apply_overrides(sweep.configs[(0, 0)], sweep.draws(r), "draws")
        one = run(config, engine="abm", seed=sweep.seed(0, r))
        cell = store.isel(province=0, whatif=0, replicate=r)
        for name in one.data_vars:
            np.testing.assert_array_equal(cell[name].values, one[name].values, err_msg=name)
        totals.append(float(one["new_infections"].sum()))
    assert len(set(totals)) > 1  # the replicates differ: seeds and draws are the cell's own


def test_blocks_resume_inside_a_chunk_and_store_is_chunked_by_block(sweep, folder, reference):
    """Blocks of one replicate (one chunk per cell) resume cell by cell; blocks of 2 give one chunk per block."""
    import zarr

    chunks = zarr.open_group(folder / "reference.zarr", mode="r")["new_infections"].chunks
    assert chunks[:3] == (1, 1, 2)
    store = folder / "by_cell.zarr"

    with pytest.raises(KeyboardInterrupt):
        run_sweep(sweep, store, block=1, on_cell=_interrupt_at(3))
    assert zarr.open_group(store, mode="r")["new_infections"].chunks[:3] == (1, 1, 1)
    report = run_sweep(sweep, store)  # the store keeps its own blocks
    assert (report.skipped, report.ran) == (3, 5)
    mine = _store(store)
    assert (mine.attrs["cell_block"], reference.attrs["cell_block"]) == (1, 2)
    xr.testing.assert_identical(mine.assign_attrs(cell_block=2), reference)


def test_interrupted_on_cluster_then_resumed(sweep, folder, client, reference):
    store = folder / "cluster_resumed.zarr"

    with pytest.raises(KeyboardInterrupt):
        run_sweep(sweep, store, client=client, on_cell=_interrupt_at(3))
    time.sleep(1)  # tasks cancelled while running may still finish and mark their cells: either is fine
    ran = []
    report = run_sweep(sweep, store, client=client, on_cell=lambda i, s: ran.append(i))
    assert report.skipped >= 3 and report.ran == len(ran) == 8 - report.skipped  # only the missing cells ran
    assert len(set(ran)) == len(ran)
    xr.testing.assert_identical(_store(store), reference)


def test_bad_posterior_draw_fails_its_cells_only(tmp_path):
    draws = xr.Dataset({"variants.new.immune_escape": ("draw", [0.5, 1.5, 0.7])})  # 1.5 is out of [0, 1]
    draws.to_netcdf(tmp_path / "posterior.nc", engine="scipy")
    body = 'base = "base.toml"\n[posterior]\npath = "posterior.nc"\n'
    sweep = load_sweep(_write(tmp_path, body))
    assert sweep.shape == (1, 1, 3)  # replicates default to the number of draws
    report = run_sweep(sweep, tmp_path / "post.zarr")
    assert (report.ran, report.failed) == (3, 1)
    ds = _store(tmp_path / "post.zarr")
    assert ds["cell_status"].values.ravel().tolist() == [DONE, FAILED, DONE]
    error = str(ds["cell_error"].values.ravel()[1])
    assert "immune_escape" in error and "1.5" in error
    assert np.isnan(ds["new_infections"].values[0, 0, 1]).all()
    table = summarise_store(tmp_path / "post.zarr")
    row = table[table["criterion"] == "activation"].iloc[0]
    assert (row["replicates"], row["failed"]) == (2, 1)


def test_summary_from_store_matches_in_memory_summary(reference, folder):
    from scenarios.ensemble import summarise_crossings

    table = summarise_store(folder / "reference.zarr")
    assert set(table["province"]) == {"VN91", "VN96"} and set(table["scenario"]) == {"base", "escape 0.8"}
    block = reference.isel(province=1).rename(whatif="scenario").drop_vars("province")
    block.attrs["population_total"] = float(reference["population_total"].values[1])
    direct = summarise_crossings(block)
    mine = table[table["province"] == "VN96"].drop(columns=["province", "area_name", "failed"]).reset_index(drop=True)
    assert mine.equals(direct)


def _main(args, capsys):
    code = cli.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('base = "base.toml"\nprovinces = ["An Giang", "Atlantis"]\n', "provinces[1]: unknown province 'Atlantis'"),
        ('base = "base.toml"\nprovinces = ["Ha"]\n', "provinces[0]: unknown province 'Ha'; did you mean Hà Nội"),
        ('base = "base.toml"\nreplicate = 3\n', "replicate: unknown key"),
        ('base = "base.toml"\nreplicates = 0\n', "replicates: Input should be greater than or equal to 1"),
        ('base = "base.toml"\n[whatifs.x]\n"variants.new.immune_escapes" = 0.5\n', "whatifs.x: variants.new"),
        ('base = "base.toml"\n[vary]\n"variants.new.immune_escape" = {low = 0.5, high = 3}\n', "vary['variants"),
        ('base = "nowhere.toml"\n', "base: config file not found"),
    ],
)
def test_bad_sweep_file_names_file_and_field_writes_nothing(tmp_path, capsys, body, field):
    path = _write(tmp_path, body)
    code, out, err = _main(["sweep", path, "--out", tmp_path / "out.zarr"], capsys)
    assert code == 2
    assert str(path) in err and field in err, err
    assert "Traceback" not in err and not (tmp_path / "out.zarr").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.toml", "configs", "sweep.toml"]


def test_cli_sweep_writes_store_summary_and_national_view(tmp_path, capsys):
    body = 'base = "base.toml"\nprovinces = ["An Giang", "VN01"]\nreplicates = 2\n'
    path = _write(tmp_path, body)
    code, out, err = _main(["sweep", path, "--out", tmp_path / "nat.zarr", "--lang", "en"], capsys)
    assert code == 0, err
    assert "ran 4, already in the store 0" in out
    table = (tmp_path / "nat_provinces.csv").read_bytes()
    assert table.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Vietnamese names
    assert "Hà Nội" in table.decode("utf-8-sig")
    assert all((tmp_path / f"nat_provinces.{ext}").stat().st_size > 0 for ext in ("png", "pdf", "svg"))
    code, out, _ = _main(["sweep", path, "--out", tmp_path / "nat.zarr"], capsys)
    assert code == 0 and "ran 0, already in the store 4" in out
    path.write_text(body.replace("replicates = 2", "replicates = 3"))  # another sweep: refuse its store
    code, _, err = _main(["sweep", path, "--out", tmp_path / "nat.zarr"], capsys)
    assert code == 2 and "holds another sweep" in err


def test_cli_ctrl_c_exits_130_with_one_line_and_rerun_finishes(tmp_path, capsys):
    """Ctrl-C in a terminal signals the whole process group: the client and its local workers."""
    import subprocess
    import sys

    import zarr

    whatifs = "".join(f"[whatifs.w{i}]\n" for i in range(8))  # 8 blocks of one cell: it cannot finish first
    path = _write(tmp_path, f'base = "base.toml"\n{whatifs}')
    store = tmp_path / "s.zarr"
    args = [sys.executable, "-m", "scenarios.cli", "sweep", str(path), "--out", str(store), "--workers", "2"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if store.exists() and (zarr.open_group(store, mode="r")["cell_status"][...] == DONE).any():
                break
            time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130 and len(err.strip().splitlines()) == 1 and "rerun" in err, err
    done = int((_store(store)["cell_status"] == DONE).sum())
    assert 1 <= done < 8
    code, out, _ = _main(["sweep", path, "--out", store], capsys)
    assert code == 0 and f"ran {8 - done}, already in the store {done}" in out


def test_posterior_contract_chain_draw_and_bad_files(tmp_path):
    base = 'base = "base.toml"\n[posterior]\npath = "p.nc"\n'
    chains = xr.Dataset({"variants.new.immune_escape": (("chain", "draw"), [[0.1, 0.2], [0.3, 0.4]])})
    chains.to_netcdf(tmp_path / "p.nc", engine="scipy")
    sweep = load_sweep(_write(tmp_path, base))
    assert [sweep.draws(r)["variants.new.immune_escape"] for r in range(4)] == [0.1, 0.2, 0.3, 0.4]
    xr.Dataset({"variants.new.escape": ("draw", [0.1])}).to_netcdf(tmp_path / "p.nc", engine="scipy")
    with pytest.raises(ConfigError, match=r"posterior.path: variable 'variants.new.escape' is not a config"):
        load_sweep(tmp_path / "sweep.toml")
    xr.Dataset({"variants.new.immune_escape": ("sample", [0.1])}).to_netcdf(tmp_path / "p.nc", engine="scipy")
    with pytest.raises(ConfigError, match="has no 'draw' dim"):
        load_sweep(tmp_path / "sweep.toml")
    xr.Dataset({"variants.new.immune_escape": ("draw", [0.1])}).to_netcdf(tmp_path / "p.nc", engine="scipy")
    (tmp_path / "sweep.toml").write_text(base.replace("[posterior]", "replicates = 2\n[posterior]"))
    with pytest.raises(ConfigError, match="replicates: 2 but the posterior has 1 draws"):
        load_sweep(tmp_path / "sweep.toml")


def test_national_table_ranks_by_activation_and_lead():
    import pandas as pd

    from scenarios.national import national_table

    def rows(province, act_day, ovf_day, lead):
        out = []
        for criterion, day in (("activation", act_day), ("overflow", ovf_day)):
            date = pd.NaT if day is None else pd.Timestamp("2027-01-01") + pd.Timedelta(days=day)
            row = {"province": province, "area_name": province.lower(), "scenario": "base",
                   "criterion": criterion, "replicates": 10, "failed": 0,
                   "share_crossed": 0.0 if day is None else 1.0, "lead_replicates": 10}  # fmt: skip
            for q in ("q5", "q50", "q95"):
                row[f"first_date_{q}"] = date
                row[f"lead_days_{q}"] = pd.NA if lead is None or criterion != "activation" else lead
            out.append(row)
        return out

    summary = pd.DataFrame(rows("A", 20, 30, 10) + rows("B", 5, 40, 35) + rows("C", None, None, None))
    table = national_table(summary)
    assert table["province"].tolist() == ["B", "A", "C"]  # earliest activation first, never last
    assert table.set_index("province")["rank_lead"].to_dict() == {"A": 1, "B": 2, "C": 3}
    assert table.set_index("province")["share_activated"].to_dict() == {"A": 1.0, "B": 1.0, "C": 0.0}

    from scenarios import plots
    from scenarios.national import national_figure

    attrs = {"start_date": "2027-01-01", "end_date": "2027-03-01", "engine": "seir", "seed": "0"}
    svg = {lang: plots.to_bytes(national_figure(table, attrs, lang=lang)).decode() for lang in ("vi", "en")}
    assert "Thứ tự các tỉnh" in svg["vi"] and "Nguồn" in svg["vi"] and "không kích hoạt" in svg["vi"]
    assert "Provinces ranked" in svg["en"] and "Source" in svg["en"] and "not activated" in svg["en"]
    assert "/01/2027" in svg["vi"] and "Jan 2027" in svg["en"]  # dd/mm/yyyy in Vietnamese


def test_own_province_config_is_used_and_must_share_labels(tmp_path):
    path = _write(tmp_path, 'base = "base.toml"\nprovinces = ["An Giang", "Cà Mau"]\n[configs]\n"Ca Mau" = "cm.toml"\n')
    (tmp_path / "cm.toml").write_text(
        'extends = "base.toml"\n[population]\nprovince = "Cà Mau"\n[capacity]\nbeds_icu = 7\n'
    )
    sweep = load_sweep(path)
    assert [sweep.configs[(p, 0)].capacity.beds_icu for p in range(2)] == [295, 7]
    other = "configs/ha_noi_new_variant.toml"
    (tmp_path / "cm.toml").write_text(f'extends = "{other}"\n[scenario]\nhorizon_days = 21\n')
    with pytest.raises(ConfigError, match=r"configs.Ca Mau: cm.toml is for Hà Nội, not Ca Mau"):
        load_sweep(path)
    (tmp_path / "cm.toml").write_text(
        f'extends = "{other}"\n[scenario]\nhorizon_days = 21\n[population]\nprovince = "VN96"\n'
    )
    with pytest.raises(ConfigError, match=r"configs.VN96: Cà Mau under 'base' has other policies"):
        load_sweep(path)


def test_out_that_is_not_a_sweep_store_is_refused_untouched(tmp_path, capsys):
    path = _write(tmp_path, 'base = "base.toml"\n')
    (tmp_path / "out.zarr").mkdir()
    (tmp_path / "out.zarr" / "notes.txt").write_text("mine")
    code, _, err = _main(["sweep", path, "--out", tmp_path / "out.zarr"], capsys)
    assert code == 2 and "out.zarr: exists and is not a sweep store" in err
    assert [p.name for p in (tmp_path / "out.zarr").iterdir()] == ["notes.txt"]


def test_vary_whole_number_range_draws_whole_numbers(tmp_path):
    body = (
        'base = "base.toml"\nreplicates = 5\nseed = 3\n[vary]\n'
        '"variants.new.imported_per_day" = {low = 5, high = 20}\n'
        '"variants.new.immune_escape" = {choice = [0.4, 0.6]}\n'
    )
    sweep = load_sweep(_write(tmp_path, body))
    draws = [sweep.draws(r) for r in range(5)]
    assert all(isinstance(d["variants.new.imported_per_day"], int) for d in draws)
    assert all(5 <= d["variants.new.imported_per_day"] <= 20 for d in draws)
    assert {d["variants.new.immune_escape"] for d in draws} <= {0.4, 0.6}
    assert len({d["variants.new.imported_per_day"] for d in draws}) > 1
