"""Fit a province's observed data, forecast the plan's crossings with uncertainty, and back-test the forecasts."""

from .fit import fit, fitted_config, posterior_values, read_fit, summary, write_fit
from .forecast import crossing_probability, forecast, forecast_quantiles, write_forecast
from .observed import VARIABLES, DataError, check_window, read_observed, shipped_observed, weekly_sums

__all__ = [
    "VARIABLES",
    "DataError",
    "check_window",
    "crossing_probability",
    "fit",
    "fitted_config",
    "forecast",
    "forecast_quantiles",
    "posterior_values",
    "read_fit",
    "read_observed",
    "shipped_observed",
    "summary",
    "weekly_sums",
    "write_fit",
    "write_forecast",
]
