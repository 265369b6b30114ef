"""Building blocks shared by every config section: a strict frozen model and sourced fields."""

from __future__ import annotations

import datetime as dt
import functools
import math
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

__all__ = [
    "StrictModel",
    "ContactScaling",
    "Isolation",
    "param",
    "AGE_GROUPS",
    "N_AGE",
    "SETTINGS",
    "MAX_NUMBER",
    "DATE_RANGE",
]

# Ten-year bands: the resolution of every severity table we cite (docs/sources.md section 1).
AGE_GROUPS: tuple[str, ...] = ("0-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80+")
N_AGE = len(AGE_GROUPS)
# Contact settings of Prem et al. 2021; interventions scale each one.
SETTINGS: tuple[str, ...] = ("home", "school", "work", "community")


# Largest magnitude any number in a config may take (fields may set tighter bounds): counts beyond it have no
# meaning for a province and overflow the engines' integer arithmetic.
MAX_NUMBER = 1e9
# Dates the results' calendar (datetime64[ns], 1678-2262) holds with a ten-year horizon to spare.
DATE_RANGE = (dt.date(1900, 1, 1), dt.date(2200, 12, 31))


def _types_in(annotation: Any) -> set[Any]:
    """Plain types an annotation admits, through ``Optional``, unions, tuples, ``Annotated`` and ``Literal``."""
    if typing.get_origin(annotation) is typing.Literal:
        return {type(a) for a in typing.get_args(annotation)}
    args = typing.get_args(annotation)
    if not args:
        return {annotation}
    out: set[Any] = set()
    for a in args[:1] if typing.get_origin(annotation) is typing.Annotated else args:
        out |= _types_in(a)
    return out


@functools.cache
def _admits(cls: type[BaseModel], name: str) -> frozenset[Any]:
    """:func:`_types_in` of a field's annotation, once per model and field (batches validate thousands of draws)."""
    field = cls.model_fields.get(name)
    return frozenset(_types_in(field.annotation)) if field is not None else frozenset()


def _plain_number(value: Any, admits: set[Any] | frozenset[Any]) -> None:
    """Raise ValueError unless ``value`` is a finite, bounded int or float (not a boolean nor text)."""
    if isinstance(value, bool):
        if bool not in admits:
            raise ValueError(f"expected a number, got the boolean {str(value).lower()}")
    elif isinstance(value, str):
        if str not in admits:
            raise ValueError(f"expected a number, got the text {value!r}")
    elif isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {value}")
        if abs(value) > MAX_NUMBER:
            raise ValueError(f"must be at most {MAX_NUMBER:.0e} in magnitude, got {value:.6g}")


class StrictModel(BaseModel):
    """Frozen model that rejects unknown keys, so a typo in a TOML file fails with its path.

    Numbers must be plain: booleans and text are refused where a number belongs (pydantic would read
    ``true`` as 1 and ``"10"`` as 10), and so are infinities, NaN and magnitudes above :data:`MAX_NUMBER`.
    Dates lie in :data:`DATE_RANGE`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if type(value) is float and -MAX_NUMBER <= value <= MAX_NUMBER:  # most values: a plain finite number
            return value
        admits = _admits(cls, info.field_name or "")
        if not admits & {int, float}:
            return value
        for item in value if isinstance(value, list | tuple) else (value,):
            _plain_number(item, admits)
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _dates_in_range(cls, value: Any) -> Any:
        if isinstance(value, dt.date) and not DATE_RANGE[0] <= value <= DATE_RANGE[1]:
            raise ValueError(f"dates must lie between {DATE_RANGE[0]} and {DATE_RANGE[1]}, got {value}")
        return value


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


class Isolation(StrictModel):
    """Case isolation (F0) and quarantine: a share of infectious people found after a delay and isolated.

    While isolated, a person's contacts in every setting, home included, are multiplied by
    ``contact_factor``. In the mean (the compartmental engine), this multiplies every setting's contacts by
    ``1 - share_detected * (1 - contact_factor) * q(delay_days)``, with ``q(d)`` the expected share of the
    infectious period left ``d`` days after onset (Erlang durations of ``[disease]``): see
    :meth:`multiplier`.
    """

    share_detected: float = param(
        units="1",
        source="user (Vietnam 2021: detected cases F0 isolated, contacts F1 quarantined, often in camps)",
        description="Share of infectious people detected and isolated (F0, and F1 found infectious).",
        ge=0,
        le=1,
    )
    delay_days: float = param(
        1.0,
        units="days",
        source="user",
        description="Days from the start of infectiousness (onset) to isolation.",
        ge=0,
        le=60,
    )
    contact_factor: float = param(
        0.0,
        units="1",
        source="user (0: no contact while isolated, e.g. a quarantine camp)",
        description="Multiplier on an isolated person's contacts in every setting, home included.",
        ge=0,
        le=1,
    )

    def remaining_share(self, infectious_days: float, stages: int) -> float:
        """Return the expected share of the infectious period left ``delay_days`` after onset.

        For an Erlang(``stages``) period ``T`` of mean ``D = infectious_days``:
        ``E[(T - d)+] / E[T] = (1 - F_{k+1}(d)) - (d / D) (1 - F_k(d))``, ``F_k`` the Erlang(k, D/k) CDF.

        Examples
        --------
        >>> Isolation(share_detected=1, delay_days=0).remaining_share(2.1, 2)
        1.0
        """
        from scipy import stats

        d, scale = self.delay_days, infectious_days / stages
        left = stats.gamma.sf(d, stages + 1, scale=scale) - d / infectious_days * stats.gamma.sf(d, stages, scale=scale)
        return float(max(left, 0.0))

    def multiplier(self, infectious_days: float, stages: int) -> float:
        """Mean-field multiplier on every setting's contacts: ``1 - p (1 - f) q(d)``."""
        q = self.remaining_share(infectious_days, stages)
        return 1.0 - self.share_detected * (1.0 - self.contact_factor) * q


class ContactScaling(StrictModel):
    """Multipliers on each setting's contacts (1 = baseline), shared by interventions and triggered policies."""

    home: float = param(1.0, units="1", source="user", description="Multiplier on home contacts.", ge=0, le=5)
    school: float = param(1.0, units="1", source="user", description="Multiplier on school contacts.", ge=0, le=5)
    work: float = param(1.0, units="1", source="user", description="Multiplier on work contacts.", ge=0, le=5)
    community: float = param(1.0, units="1", source="user", description="Multiplier on community contacts.", ge=0, le=5)
    isolation: Isolation | None = Field(
        None, description="Case isolation and quarantine while this is in force (see Isolation)."
    )

    @property
    def contact_multipliers(self) -> dict[str, float]:
        """Multiplier per setting."""
        return {s: float(getattr(self, s)) for s in SETTINGS}

    def multipliers_with_isolation(self, infectious_days: float, stages: int) -> dict[str, float]:
        """Multiplier per setting, times the isolation's mean-field multiplier (:meth:`Isolation.multiplier`)."""
        iso = self.isolation.multiplier(infectious_days, stages) if self.isolation is not None else 1.0
        return {s: m * iso for s, m in self.contact_multipliers.items()}
