"""The whole what-if config: one field per section."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import PrivateAttr, model_validator

from .abm import AgentBased
from .base import StrictModel
from .calibration import Calibration
from .health import Capacity, Care, Oxygen
from .model import Disease, Immunity, Intervention, Population, Reporting, Scenario, Variants
from .surge import Levels, Policy, Thresholds

__all__ = ["Config"]


class Config(StrictModel):
    """A validated what-if. Build it with :func:`scenarios.load_config` or ``Config.model_validate(dict)``."""

    scenario: Scenario
    population: Population
    disease: Disease = Disease()
    variants: Variants
    immunity: Immunity = Immunity()
    interventions: tuple[Intervention, ...] = ()
    reporting: Reporting = Reporting()
    thresholds: Thresholds = Thresholds()
    levels: Levels | None = None
    policies: tuple[Policy, ...] = ()
    abm: AgentBased = AgentBased()
    care: Care = Care()
    capacity: Capacity = Capacity()
    oxygen: Oxygen = Oxygen()
    calibration: Calibration | None = None

    _provenance: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _within_population(self) -> Config:
        people = self.population.people
        counts = {"variants.resident.initial_infections": self.variants.resident.initial_infections}
        if self.variants.new is not None:
            counts["variants.new.imported_per_day"] = self.variants.new.imported_per_day
        if self.abm.pop_scale != "auto":
            counts["abm.pop_scale"] = self.abm.pop_scale
        for key, value in counts.items():
            if value > people:
                raise ValueError(f"{key}: {value:g} exceeds the population ({people:,} people)")
        return self

    def with_provenance(
        self, texts: list[tuple[Path, str]], overrides: dict[str, Any], path: Path, roots: list[Path] | None = None
    ) -> Config:
        """Attach the source texts (base first), overrides and the folders its files may be read from."""
        self._provenance = {
            "config_path": str(path),
            "config_text": "\n".join(f"# ---- {p}\n{t}" for p, t in texts),
            "overrides": json.dumps(overrides, default=str, ensure_ascii=False),
            "allowed_dirs": json.dumps([str(r) for r in roots or [path.parent]]),
        }
        return self

    def sha256(self) -> str:
        """Return the SHA-256 of the resolved config (every default included): the ``config_sha256`` of results."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()

    @property
    def provenance(self) -> dict[str, str]:
        """Source path, concatenated source texts and overrides (empty when built from a dict)."""
        return dict(self._provenance)
