"""Back-test the fit-and-forecast on the 2021 Delta wave in four southern provinces (pre-2025 areas).

Fits each province's reported cases up to each cutoff (weekly, through the rise and the peak), forecasts
1-4 weeks, and scores the forecasts and two naive baselines with scoringrules (WIS, 50%/90% coverage).

    python benchmarks/backtest_delta_2021.py [PROVINCE ...]         # writes benchmarks/results/backtest_*.csv
    python benchmarks/backtest_delta_2021.py --table                # summarises them into docs/backtest_2021.md

Sampler settings are lighter than a planner's fit (see SAMPLER) so that 16 fits finish in well under an hour
on a 2-core machine with ``scenarios.simulate.run_batch``; the table says which fits had not converged.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

import pandas as pd

from scenarios.calibration import read_observed, shipped_observed
from scenarios.calibration.backtest import backtest, score_table
from scenarios.config import load_config

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"
PROVINCES = {
    "ho_chi_minh": "Ho Chi Minh City",
    "binh_duong": "Binh Duong",
    "dong_nai": "Dong Nai",
    "long_an": "Long An",
}
CUTOFFS = [dt.date(2021, 7, 12), dt.date(2021, 7, 26), dt.date(2021, 8, 9), dt.date(2021, 8, 23)]
SAMPLER = {
    "calibration.sampler.steps": 40,
    "calibration.sampler.burn": 15,
    "calibration.sampler.optimizer_evaluations": 150,
}
DRAWS = 100


def run(key: str) -> None:
    """Back-test one province, writing its scores after each cutoff (a long run can be read as it goes)."""
    config = load_config(ROOT / "configs" / f"{key}_2021_delta.toml", SAMPLER)
    observed = read_observed(shipped_observed(), PROVINCES[key])
    OUT.mkdir(parents=True, exist_ok=True)
    tables, crossings = [], []
    for cutoff in CUTOFFS:
        t0 = time.perf_counter()
        table = backtest(config, observed, [cutoff], draws=DRAWS)
        tables.append(table.assign(province=key))
        crossings.append(table.attrs["crossing"].assign(province=key))
        pd.concat(tables).to_csv(OUT / f"backtest_{key}.csv", index=False, float_format="%.6g")
        pd.concat(crossings).to_csv(OUT / f"backtest_{key}_crossing.csv", index=False)
        print(f"{key} {cutoff}: {time.perf_counter() - t0:.0f} s", flush=True)


def markdown(df: pd.DataFrame) -> str:
    """A GitHub table without the optional tabulate dependency."""
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "---|" * len(df.columns)
    body = ["| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def summarise() -> str:
    tables = [pd.read_csv(p) for p in sorted(OUT.glob("backtest_*.csv")) if "crossing" not in p.name]
    scores = score_table(tables).round(3)
    crossing = pd.concat([pd.read_csv(p) for p in sorted(OUT.glob("backtest_*_crossing.csv"))], ignore_index=True)
    model = pd.concat(tables).query("method == 'model'")
    fits = model.drop_duplicates(["province", "cutoff"])
    lines = [
        markdown(scores.reset_index()),
        "",
        f"Fits: {len(fits)}; converged (R-hat <= 1.1, bulk ESS >= 50): {int(fits['converged'].sum())}; median "
        f"model runs per fit {fits['model_runs'].median():.0f}, wall time {fits['wall_seconds'].median():.0f} s.",
        "",
        crossing[
            [
                "province",
                "cutoff",
                "observed_first",
                "already_crossed",
                "p_cross_in_horizon",
                "predicted_median",
                "error_days",
            ]
        ].to_markdown(index=False),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:] == ["--table"]:
        print(summarise())
    else:
        for key in sys.argv[1:] or list(PROVINCES):
            run(key)
