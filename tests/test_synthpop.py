"""Synthetic population: ages, households, schools, workplaces, and the contact matrices it reproduces."""

import numpy as np
import pytest
import scipy.sparse as sp

from scenarios.config import SETTINGS
from scenarios.config import Population as PopCfg
from scenarios.config.abm import AgentBased
from scenarios.population import build_population
from scenarios.synthpop import build_synthetic_population


@pytest.fixture(scope="module")
def pop():
    return build_population(PopCfg(total=60_000))


@pytest.fixture(scope="module")
def synth(pop):
    return build_synthetic_population(pop, AgentBased(), np.random.default_rng(7))


def _pair_counts(of_agent, band, n_age=9):
    """Independent count of ordered pairs (i, j) of distinct agents sharing a group, by band (sparse)."""
    inside = np.flatnonzero(of_agent >= 0)
    m = sp.csr_matrix((np.ones(len(inside)), (of_agent[inside], inside)), shape=(of_agent.max() + 1, len(band)))
    a = sp.csr_matrix((np.ones(len(band)), (np.arange(len(band)), band)), shape=(len(band), n_age))
    per_group = (m @ a).toarray()  # agents of each band per group
    return per_group.T @ per_group - np.diag(per_group.sum(axis=0))


def test_ages_follow_the_population(pop, synth):
    assert synth.n_agents == 60_000
    np.testing.assert_allclose(synth.agents_by_band, pop.sizes, atol=1)
    assert np.all(np.diff(synth.band) >= 0)  # sorted: bands are contiguous ranges
    assert np.all(np.minimum(synth.age_years // 10, 8) == synth.band) and synth.age_years.max() < 95


def test_everyone_lives_in_one_household_of_vietnamese_size(synth):
    home = synth.groups["home"]
    assert np.all(home.of_agent >= 0)
    assert np.array_equal(np.sort(home.members), np.arange(synth.n_agents))
    assert home.sizes.mean() == pytest.approx(3.783, rel=0.03)  # Covasim/UN household size for Viet Nam
    # 1 + Poisson(2.78): share of one-person households exp(-2.78) ~ 6%.
    assert np.mean(home.sizes == 1) == pytest.approx(np.exp(-2.783), abs=0.01)
    # Every household has an adult reference person.
    has_adult = np.zeros(home.n_groups, bool)
    has_adult[home.of_agent[synth.age_years >= 20]] = True
    assert has_adult.all()


def test_schools_and_workplaces(synth):
    age, school, work = synth.age_years, synth.groups["school"].of_agent, synth.groups["work"].of_agent
    assert not np.any((school >= 0) & (work >= 0))  # nobody both at school and at work
    pupils = (school >= 0) & (age < 23)
    assert age[pupils].min() >= 3
    primary = (age >= 6) & (age <= 10)
    assert np.mean(school[primary] >= 0) == pytest.approx(0.98, abs=0.01)
    teachers = (school >= 0) & (age >= 23)
    assert teachers.sum() == pytest.approx(pupils.sum() / 20, rel=0.05)
    assert age[work >= 0].min() >= 15 and np.all(work[age < 15] < 0)
    assert synth.groups["work"].sizes.mean() == pytest.approx(17, rel=0.05)


def test_empirical_contact_matrices_reproduce_the_config(pop, synth):
    # Expected daily contacts = pair weight x pairs counted independently from the group assignment.
    n = synth.agents_by_band.astype(float)
    total = np.zeros((9, 9))
    for s in SETTINGS:
        if s == "community":
            empirical = synth.weights[s] * n[None, :]
        else:
            empirical = synth.weights[s] * _pair_counts(synth.groups[s].of_agent, synth.band) / n[:, None]
        target = pop.contacts[s]
        carried = target - synth.moved_to_community.get(s, 0)
        expected = carried if s != "community" else empirical
        np.testing.assert_allclose(empirical, expected, rtol=1e-9, atol=1e-12)
        # What groups cannot carry is a small part of each setting.
        assert np.abs(empirical - target).sum() <= 0.05 * target.sum() or s == "community"
        total += empirical
    np.testing.assert_allclose(total, pop.contact_matrix(), rtol=1e-9)  # all settings: exact
    # The pair weights are symmetric (reciprocal contacts, up to rounding people to agents), and households
    # carry all home contacts.
    for s in ("home", "school", "work"):
        np.testing.assert_allclose(synth.weights[s], synth.weights[s].T, rtol=1e-3, atol=1e-12)
    assert synth.moved_to_community["home"].sum() == 0
    np.testing.assert_allclose(synth.contact_matrices()["home"], pop.contacts["home"], rtol=1e-9)


def test_household_age_mixing_follows_prem_home_matrix(pop, synth):
    # Before the weights: group-mate counts alone should already correlate with the home matrix.
    pairs = _pair_counts(synth.groups["home"].of_agent, synth.band) / synth.agents_by_band[:, None]
    target = pop.contacts["home"]
    assert np.corrcoef(pairs.ravel(), target.ravel())[0, 1] > 0.8


def test_same_seed_same_population_and_pop_scale(pop):
    a = build_synthetic_population(pop, AgentBased(), np.random.default_rng(3))
    b = build_synthetic_population(pop, AgentBased(), np.random.default_rng(3))
    c = build_synthetic_population(pop, AgentBased(), np.random.default_rng(4))
    assert np.array_equal(a.groups["home"].of_agent, b.groups["home"].of_agent)
    assert not np.array_equal(a.groups["home"].of_agent, c.groups["home"].of_agent)
    scaled = build_synthetic_population(pop, AgentBased(pop_scale=10), np.random.default_rng(3))
    assert scaled.n_agents == 6000 and scaled.pop_scale == 10
    assert AgentBased(pop_scale="auto", max_agents=1000).people_per_agent(3_700_000) == 3700
    assert AgentBased(pop_scale="auto").people_per_agent(60_000) == 1
