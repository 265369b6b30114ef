"""Population: age structure, contact matrices and their reciprocity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.config import Population as PopulationConfig
from scenarios.population import _wpp_fine, build_population, national_age_shares, prem_contacts


def test_national_age_shares_sum_to_one_and_match_wpp():
    shares = national_age_shares()
    assert shares.sum() == pytest.approx(1.0)
    fine = _wpp_fine()
    assert shares[0] == pytest.approx((fine[0] + fine[1]) / fine.sum())
    assert shares[-1] == pytest.approx(fine[16] / fine.sum())


def test_prem_grouping_preserves_total_contacts():
    """Population-weighted contacts are the same in Prem's 16 bands and in our 9."""
    ref = _wpp_fine()
    fine16 = np.concatenate([ref[:15], [ref[15] + ref[16]]])
    from importlib import resources

    for setting, grouped in prem_contacts().items():
        with (resources.files("scenarios") / "data" / "vietnam" / f"contacts_prem2021_{setting}.csv").open() as f:
            m16 = np.loadtxt(f, delimiter=",", comments="#")
        groups = np.bincount(np.minimum(np.arange(17) // 2, 8), weights=ref)
        assert (grouped.sum(1) * groups).sum() == pytest.approx((m16.sum(1) * fine16).sum(), rel=1e-12)


@pytest.mark.parametrize(
    "kw",
    [
        {"province": "An Giang"},
        {
            "province": "Lai Châu",
            "total": 80_000,
            "age_shares": [0.22, 0.18, 0.16, 0.15, 0.11, 0.08, 0.06, 0.03, 0.01],
        },
    ],
)
def test_contacts_are_reciprocal_for_the_area(kw):
    pop = build_population(PopulationConfig(**kw))
    for c in pop.contacts.values():
        total = pop.sizes[:, None] * c
        np.testing.assert_allclose(total, total.T, rtol=1e-10, atol=1e-9)
    assert pop.total == pytest.approx(kw.get("total", 3_683_601))


def test_homogeneous_is_proportional_mixing_in_the_community():
    pop = build_population(PopulationConfig(total=1000, contacts="homogeneous"))
    c = pop.contact_matrix()
    np.testing.assert_allclose(c / c.sum(1, keepdims=True), np.tile(pop.sizes / pop.total, (9, 1)))
    assert all(not m.any() for s, m in pop.contacts.items() if s != "community")


def test_contact_multipliers_scale_settings():
    pop = build_population(PopulationConfig(province="VN01"))
    closed = pop.contact_matrix({"school": 0.0, "work": 0.5})
    expected = pop.contacts["home"] + 0.5 * pop.contacts["work"] + pop.contacts["community"]
    np.testing.assert_allclose(closed, expected)


@settings(max_examples=50, deadline=None)
@given(
    total=st.integers(1, 200_000_000),
    weights=st.lists(st.floats(0.01, 1), min_size=9, max_size=9),
)
def test_people_per_band_are_whole_and_keep_the_configured_total(total, weights):
    shares = np.array(weights) / sum(weights)
    shares[-1] = 1 - shares[:-1].sum()
    pop = build_population(PopulationConfig(total=total, age_shares=tuple(shares.tolist())))
    assert np.all(pop.sizes == np.round(pop.sizes))
    assert pop.total == total
    assert np.all(np.abs(pop.sizes - total * shares) <= 1)


@pytest.mark.parametrize(("cfg", "total"), [({"total": 100_000}, 100_000), ({"province": "An Giang"}, 3_683_601)])
def test_the_configured_total_is_exact_so_a_rate_at_the_threshold_ties(cfg, total):
    from scenarios.indicators import per_100k

    pop = build_population(PopulationConfig(**cfg))
    assert pop.total == total  # not 99,999.99999999999 nor 3,683,600.9999999995
    if total == 100_000:
        assert float(per_100k(450, pop.total)) == 450.0  # "> 450" is not met
