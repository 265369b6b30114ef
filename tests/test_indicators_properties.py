"""Properties of threshold evaluation against a brute-force reading of the plan text (Hypothesis)."""

from __future__ import annotations

import operator

import numpy as np
import pandas as pd
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.indicators import crossings, rolling_sum

OPS = {">": operator.gt, "≥": operator.ge, "<": operator.lt, "≤": operator.le}
values = st.lists(st.integers(0, 20).map(float), min_size=1, max_size=60)


@settings(max_examples=60, deadline=None)
@given(values, st.sampled_from(list(OPS)), st.integers(0, 20), st.integers(1, 5))
def test_first_day_and_days_met_match_brute_force(series, op, threshold, n):
    x = np.array(series) * 10  # rates per 100k on the integer grid, so equality cases occur
    met = [t >= n - 1 and all(OPS[op](x[s], threshold * 10) for s in range(t - n + 1, t + 1)) for t in range(len(x))]
    ts = {
        "name": "p",
        "criteria": [{"indicator": "cases_7d_per_100k", "operator": op, "value": threshold * 10, "sustained_days": n}],
    }
    time = np.datetime64("2026-01-01", "D") + np.arange(len(x)).astype("timedelta64[D]")
    ds = xr.Dataset(
        {"cases_7d_per_100k": ("time", x)},
        coords={"time": time.astype("datetime64[ns]")},
        attrs={"population_total": 1e5},
    )
    row = crossings(ds, ts).iloc[0]
    # Dates in the run the comparison has held on since the first date do not count as a crossing.
    from_start = [all(OPS[op](x[s], threshold * 10) for s in range(t + 1)) for t in range(len(x))]
    crossed = [m and not f for m, f in zip(met, from_start, strict=True)]
    expected_first = crossed.index(True) if any(crossed) else None
    assert row["status"] == ("met from the start" if from_start[0] else "crossed" if any(crossed) else "not crossed")
    assert (None if pd.isna(row["first_day"]) else int(row["first_day"])) == expected_first
    assert row["days_met"] == sum(met)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1e4), min_size=7, max_size=40))
def test_rolling_sum_is_the_sum_of_the_last_seven_days(series):
    x = np.array(series)
    out = rolling_sum(x)
    for t in range(6, len(x)):
        assert out[t] == sum(x[t - 6 : t + 1])  # same order of additions: exact
