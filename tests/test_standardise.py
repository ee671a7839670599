"""Federated standardisation: sums from each site give the pooled statistics."""

from __future__ import annotations

import numpy as np

from fedcluster.data.standardise import (
    Standardiser,
    combine_statistics,
    site_statistics,
)


def sites_with_missing_values() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    sites = []
    for rows, shift in ((120, 0.0), (35, 3.0), (300, -1.5), (8, 40.0)):
        values = rng.normal(shift, 1 + abs(shift), size=(rows, 5))
        values[rng.random(values.shape) < 0.2] = np.nan
        sites.append(values)
    sites[3][:, 4] = np.nan  # a site that never measures one feature
    return sites


def test_federated_statistics_equal_pooled_statistics() -> None:
    sites = sites_with_missing_values()

    combined = combine_statistics([site_statistics(s) for s in sites])
    federated = Standardiser.from_statistics(combined)

    pooled = np.concatenate(sites)
    assert np.allclose(federated.mean, np.nanmean(pooled, axis=0), atol=1e-9, rtol=0)
    assert np.allclose(federated.std, np.nanstd(pooled, axis=0), atol=1e-9, rtol=0)
    assert np.array_equal(combined["missing"], np.isnan(pooled).sum(axis=0))


def test_only_four_numbers_per_feature_leave_a_site() -> None:
    site = sites_with_missing_values()[2]

    shared = site_statistics(site)

    assert sorted(shared) == ["count", "missing", "sum", "sum_squares"]
    assert all(value.shape == (5,) for value in shared.values())


def test_missing_values_are_imputed_at_the_mean_and_flagged() -> None:
    standardiser = Standardiser(mean=np.array([10.0, 0.0]), std=np.array([2.0, 1.0]))
    rows = np.array([[12.0, np.nan], [np.nan, 3.0]])

    prepared = standardiser.transform(rows)

    assert prepared.tolist() == [[1.0, 0.0, 0.0, 1.0], [0.0, 3.0, 1.0, 0.0]]


def test_a_constant_feature_is_left_unscaled() -> None:
    stats = site_statistics(np.array([[5.0], [5.0], [5.0]]))

    standardiser = Standardiser.from_statistics(stats)

    assert standardiser.std.tolist() == [1.0]
    assert standardiser.transform(np.array([[5.0]]))[0, 0] == 0.0
