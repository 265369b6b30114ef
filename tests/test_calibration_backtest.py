"""Back-test scoring pieces: week ends, WIS by hand, the naive baselines, the first date over 450/100k."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from scenarios.calibration.backtest import ALPHAS, _baselines, _first_crossing, _levels, _scores, week_end


def test_week_end_counts_blocks_from_the_fit_start():
    start = dt.date(2021, 6, 1)
    assert week_end(dt.date(2021, 6, 7), start) == dt.date(2021, 6, 7)
    assert week_end(dt.date(2021, 6, 13), start) == dt.date(2021, 6, 7)
    assert week_end(dt.date(2021, 6, 14), start) == dt.date(2021, 6, 14)


def test_wis_and_coverage_by_hand():
    levels = _levels()
    assert len(levels) == 23 and levels[11] == 0.5
    q = np.linspace(0, 220, 23)  # quantiles 0, 10, ..., 220; median 110
    y = 125.0
    lower, upper = q[:11], q[12:][::-1]
    interval = [
        (u - lo) + 2 / a * max(lo - y, 0) + 2 / a * max(y - u, 0) for a, lo, u in zip(ALPHAS, lower, upper, strict=True)
    ]
    want = (0.5 * abs(y - 110) + sum(a / 2 * s for a, s in zip(ALPHAS, interval, strict=True))) / (len(ALPHAS) + 0.5)
    got = _scores(y, q)
    assert np.isclose(got["wis"], want)
    assert got["cover_90"] == 1.0 and got["cover_50"] == 1.0  # 50% interval is [60, 160]
    assert _scores(500.0, q)["cover_90"] == 0.0


def test_baselines_persist_or_extend_growth_with_wider_intervals_later():
    history = np.array([100.0, 120, 150, 200, 300, 400])
    one, three = _baselines(history, 1), _baselines(history, 3)
    assert np.isclose(one["persistence"][11], 400)
    assert one["growth"][11] > 400 and three["growth"][11] > one["growth"][11]
    width = lambda q: q[-1] - q[0]  # noqa: E731
    assert width(three["persistence"]) > width(one["persistence"])


def test_first_date_over_450_per_100k_skips_missing_days():
    dates = pd.date_range("2021-07-01", periods=10)
    daily = np.array([0, 0, 0, 0, 0, 0, 400, 200, np.nan, 300.0])
    # Population 100,000: the trailing 7-day sum first exceeds 450 on day 8 (400 + 200 = 600).
    assert _first_crossing(daily, dates, 100_000) == dates[7]
    assert _first_crossing(daily, dates, 1_000_000) is None


def test_backtest_outputs_appear_together_or_not_at_all(tmp_path, monkeypatch):
    import scenarios.calibration.backtest as bt

    table = pd.DataFrame({"method": ["model"], "wis": [12.5]})
    table.attrs["crossing"] = pd.DataFrame({"cutoff": [dt.date(2021, 7, 12)], "error_days": [3.0]})
    out = bt.write_backtest(table, tmp_path / "scores")
    assert sorted(p.name for p in out.iterdir()) == ["crossing.csv", "scores.csv"]
    assert pd.read_csv(out / "scores.csv", encoding="utf-8-sig")["wis"].tolist() == [12.5]
    assert pd.read_csv(out / "crossing.csv", encoding="utf-8-sig")["error_days"].tolist() == [3.0]

    calls = []

    def fail_second(df, path):  # the crossing table fails after the scores were written
        calls.append(path.name)
        if len(calls) == 2:
            raise OSError("disk full")
        df.to_csv(path, index=False)

    monkeypatch.setattr(bt, "write_csv", fail_second)
    table.loc[0, "wis"] = 99.0
    with pytest.raises(OSError, match="disk full"):
        bt.write_backtest(table, tmp_path / "scores")
    assert calls == ["scores.csv", "crossing.csv"]
    # The earlier pair is untouched, and nothing half-written is left beside it.
    assert pd.read_csv(out / "scores.csv", encoding="utf-8-sig")["wis"].tolist() == [12.5]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores"]
