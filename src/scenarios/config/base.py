"""Building blocks shared by every config section: a strict frozen model and sourced fields."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["StrictModel", "ContactScaling", "param", "AGE_GROUPS", "N_AGE", "SETTINGS"]

# Ten-year bands: the resolution of every severity table we cite (docs/sources.md section 1).
AGE_GROUPS: tuple[str, ...] = ("0-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80+")
N_AGE = len(AGE_GROUPS)
# Contact settings of Prem et al. 2021; interventions scale each one.
SETTINGS: tuple[str, ...] = ("home", "school", "work", "community")


class StrictModel(BaseModel):
    """Frozen model that rejects unknown keys, so a typo in a TOML file fails with its path."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def param(default: Any = ..., *, units: str, source: str, description: str, **constraints: Any) -> Any:
    """Declare a config field with its units and the source of its default.

    Parameters
    ----------
    default : Any
        The default value; ``...`` makes the field required.
    units : str
        Units of the value (``"days"``, ``"1"`` for fractions, ``"people"``...).
    source : str
        Where the default comes from (paper, package file, plan), or ``"user"`` when there is no default.
    description : str
        What the field means, in a sentence a planner can read.
    **constraints
        Pydantic constraints (``ge``, ``le``, ``gt``...), also shown in error messages.
    """
    return Field(
        default,
        description=description,
        json_schema_extra={"units": units, "source": source},
        **constraints,
    )


class ContactScaling(StrictModel):
    """Multipliers on each setting's contacts (1 = baseline), shared by interventions and triggered policies."""

    home: float = param(1.0, units="1", source="user", description="Multiplier on home contacts.", ge=0, le=5)
    school: float = param(1.0, units="1", source="user", description="Multiplier on school contacts.", ge=0, le=5)
    work: float = param(1.0, units="1", source="user", description="Multiplier on work contacts.", ge=0, le=5)
    community: float = param(1.0, units="1", source="user", description="Multiplier on community contacts.", ge=0, le=5)

    @property
    def contact_multipliers(self) -> dict[str, float]:
        """Multiplier per setting."""
        return {s: float(getattr(self, s)) for s in SETTINGS}
