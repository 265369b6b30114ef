"""Config section of the agent-based engine: agents per person and the synthetic population's settings.

The synthetic population (:mod:`scenarios.synthpop`) is built from these numbers; the contact *intensities*
within households, schools and workplaces are then fitted so that the mean daily contacts by age and setting
equal the config's contact matrices, so the values below shape *who* meets whom, not how much.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import StrictModel, param

__all__ = ["AgentBased"]

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class AgentBased(StrictModel):
    """Agent-based engine: scale, households, schools and workplaces of the synthetic population."""

    pop_scale: int | Literal["auto"] = param(
        1,
        units="people/agent",
        source="assumption: one agent per person (a 3.7 M province runs in minutes; see benchmarks/)",
        description=(
            "People each agent stands for; outputs are scaled back to people. 'auto' uses one agent per "
            "person up to max_agents, and the smallest whole number of people per agent above it."
        ),
    )
    max_agents: int = param(
        4_000_000,
        units="agents",
        source="assumption: about 0.5 GB of engine state on a laptop (benchmarks/abm_vs_covasim.py)",
        description="Largest number of agents when pop_scale is 'auto'.",
        ge=1000,
    )
    household_size_mean: float = param(
        3.783,
        units="people",
        source="covasim 4.0.1 covasim/data/household_size_data.py, 'Viet Nam' (UN household dataset 2019)",
        description="Mean household size; sizes are 1 + Poisson(mean - 1) (Poisson clusters as in Covasim).",
        ge=1.0,
        le=15.0,
    )
    head_min_age: int = param(
        20,
        units="years",
        source="assumption: household reference persons are adults",
        description="Youngest age of a household's reference person.",
        ge=15,
        le=40,
    )
    enrolment_preschool: Fraction = param(
        0.90,
        units="1",
        source="MOET/GSO 2019-20, kindergarten ages 3-5 (recalled, approximate)",
        description="Share of children aged 3-5 in kindergarten.",
    )
    enrolment_primary: Fraction = param(
        0.98,
        units="1",
        source="GSO Population and Housing Census 2019: net primary attendance ~98% (recalled)",
        description="Share of children aged 6-10 in primary school.",
    )
    enrolment_lower_secondary: Fraction = param(
        0.92,
        units="1",
        source="GSO Census 2019: net lower-secondary attendance ~92% (recalled)",
        description="Share of children aged 11-14 in lower secondary school.",
    )
    enrolment_upper_secondary: Fraction = param(
        0.72,
        units="1",
        source="GSO Census 2019: net upper-secondary attendance ~72% (recalled)",
        description="Share of young people aged 15-17 in upper secondary school.",
    )
    enrolment_tertiary: Fraction = param(
        0.29,
        units="1",
        source="World Bank WDI SE.TER.ENRR, Viet Nam 2019 gross tertiary ~29% (recalled)",
        description="Share of people aged 18-22 in college or university.",
    )
    school_size_mean: float = param(
        600.0,
        units="people",
        source="GSO Statistical Yearbook 2019: ~8.7 M primary pupils in ~15,000 schools (recalled)",
        description="Mean number of pupils per school (every level); schools mix as one group.",
        ge=10,
    )
    pupils_per_teacher: float = param(
        20.0,
        units="people",
        source="World Bank WDI SE.PRM.ENRL.TC.ZS, Viet Nam primary pupil-teacher ratio ~20 (recalled)",
        description="Pupils per teacher; teachers are drawn from working adults aged 20-59.",
        gt=1,
    )
    employment_by_age: tuple[Fraction, ...] = param(
        (0.0, 0.2, 0.78, 0.9, 0.9, 0.8, 0.45, 0.15, 0.03),
        units="1",
        source=(
            "GSO Labour Force Survey 2019, participation by age (recalled, approximate; 10-19 band: "
            "ages 15-19 not in school)"
        ),
        description="Share of people not in school who work outside home, by 10-year band 0-9 ... 80+.",
        min_length=9,
        max_length=9,
    )
    workplace_size_mean: float = param(
        17.0,
        units="people",
        source="covasim 4.0.1 parameters.py reset_layer_pars: 16 work contacts per person ('w': 16) + 1",
        description="Mean number of workers per workplace (sizes are Poisson around the mean).",
        ge=2,
    )

    @model_validator(mode="after")
    def _check(self) -> AgentBased:
        if self.pop_scale != "auto" and self.pop_scale < 1:
            raise ValueError("pop_scale must be a whole number of people per agent (>= 1) or 'auto'")
        if self.employment_by_age[0] > 0:
            raise ValueError("employment_by_age: children aged 0-9 cannot work (the first value must be 0)")
        return self

    def people_per_agent(self, total: float) -> int:
        """People each agent stands for, for a population of ``total`` people."""
        if self.pop_scale != "auto":
            return int(self.pop_scale)
        return max(1, -(-int(round(total)) // self.max_agents))
