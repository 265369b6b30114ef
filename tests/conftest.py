"""Shared helpers: small configs built in code, and the CLI run in a subprocess-free way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scenarios.config import Config
from scenarios.config.loader import _merge

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"


def homogeneous(**overrides: Any) -> Config:
    """The textbook homogeneous SEIR: full immunity after infection, no waning, no new variant."""
    base = {
        "scenario": {"name": "test", "start_date": "2026-01-01", "horizon_days": 365},
        "population": {"total": 1_000_000, "contacts": "homogeneous"},
        "variants": {"resident": {"r0": 2.5, "initial_infections": 10}},
        "immunity": {"ve_infection_prior": 1.0, "ve_severe_prior": 1.0, "waning_days": 0, "waning_days_infection": 0},
    }
    return Config.model_validate(_merge(base, overrides))


@pytest.fixture
def shipped_configs() -> list[Path]:
    return sorted(CONFIGS.glob("*.toml"))
