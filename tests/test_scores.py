"""Pooled AUC from per-hospital score histograms instead of patient scores."""

from __future__ import annotations

import numpy as np

from fedcluster.tasks.scores import auc_from_histograms, score_histograms


def exact_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    positives = scores[labels == 1]
    negatives = scores[labels == 0]
    wins = (positives[:, None] > negatives[None, :]).sum()
    ties = (positives[:, None] == negatives[None, :]).sum()
    return float((wins + 0.5 * ties) / (len(positives) * len(negatives)))


def test_summed_histograms_give_the_pooled_auc_closely() -> None:
    rng = np.random.default_rng(0)
    sites = []
    for rows in (300, 120, 45):
        labels = (rng.random(rows) < 0.5).astype(float)
        scores = 1 / (1 + np.exp(-(labels * 1.5 + rng.normal(size=rows))))
        sites.append((scores, labels))

    histograms = [score_histograms(s, y) for s, y in sites]
    positives = sum(h[0] for h in histograms)
    negatives = sum(h[1] for h in histograms)

    pooled_scores = np.concatenate([s for s, _ in sites])
    pooled_labels = np.concatenate([y for _, y in sites])
    exact = exact_auc(pooled_scores, pooled_labels)
    assert abs(auc_from_histograms(positives, negatives) - exact) < 0.003


def test_perfect_and_reversed_rankings_give_one_and_zero() -> None:
    labels = np.array([0, 0, 1, 1], dtype=float)

    right = score_histograms(np.array([0.1, 0.2, 0.8, 0.9]), labels)
    wrong = score_histograms(np.array([0.9, 0.8, 0.2, 0.1]), labels)

    assert auc_from_histograms(*right) == 1.0
    assert auc_from_histograms(*wrong) == 0.0


def test_a_test_set_with_one_class_has_no_auc() -> None:
    positives, negatives = score_histograms(np.array([0.3, 0.7]), np.ones(2))

    assert np.isnan(auc_from_histograms(positives, negatives))
