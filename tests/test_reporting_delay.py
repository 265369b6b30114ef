"""Reporting delay: discretised like the care delays, mean kept exactly, continuous in the sd."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.config import Reporting
from scenarios.disease import reporting_delay_weights


def mean_of(w):
    return float(w @ np.arange(len(w)))


@settings(max_examples=60, deadline=None)
@given(mean=st.floats(0, 20), cv=st.floats(0, 3))
def test_the_configured_mean_is_kept(mean, cv):
    sd = cv * mean
    w = reporting_delay_weights(Reporting(delay_mean_days=mean, delay_sd_days=sd))
    assert w.min() >= 0 and w.sum() == pytest.approx(1, abs=1e-12)
    assert mean_of(w) == pytest.approx(mean, abs=1e-5)


@pytest.mark.parametrize("mean", [0.5, 2.0, 3.7])
def test_weights_are_continuous_as_the_sd_goes_to_zero(mean):
    fixed = reporting_delay_weights(Reporting(delay_mean_days=mean, delay_sd_days=0))
    near = reporting_delay_weights(Reporting(delay_mean_days=mean, delay_sd_days=1e-3))
    n = max(len(fixed), len(near))
    np.testing.assert_allclose(np.pad(near, (0, n - len(near))), np.pad(fixed, (0, n - len(fixed))), atol=1e-3)
