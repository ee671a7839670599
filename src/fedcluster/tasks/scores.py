"""AUC from score histograms, so pooled AUC needs no patient-level scores.

Each site reports how many of its positive and negative test patients fall
into each of `SCORE_BINS` equal-width bins of predicted probability. Summed
over sites, the histograms give the pooled AUC; two patients in the same bin
count as a tie. With 100 bins the result differs from the exact AUC by the
share of positive-negative pairs that share a bin, which is small for a model
that separates the classes at all.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

SCORE_BINS = 100

FloatArray = NDArray[np.float64]


def score_histograms(
    scores: NDArray[np.floating], labels: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Counts of positive and negative patients per score bin."""
    bins = np.clip((np.asarray(scores) * SCORE_BINS).astype(int), 0, SCORE_BINS - 1)
    positives = np.bincount(bins[labels == 1], minlength=SCORE_BINS)
    negatives = np.bincount(bins[labels == 0], minlength=SCORE_BINS)
    return positives.astype(np.float64), negatives.astype(np.float64)


def auc_from_histograms(positives: FloatArray, negatives: FloatArray) -> float:
    """Probability that a positive outscores a negative (ties count half)."""
    n_pos, n_neg = float(positives.sum()), float(negatives.sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    negatives_below = np.concatenate([[0.0], np.cumsum(negatives)[:-1]])
    wins = float((positives * (negatives_below + 0.5 * negatives)).sum())
    return wins / (n_pos * n_neg)
