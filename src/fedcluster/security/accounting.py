"""How much privacy a hospital spends: epsilon at a stated delta.

The accountant is the Rényi differential privacy (RDP) analysis of the
Gaussian mechanism. One release of a sum to which a hospital adds at most
`clipping_norm` (its clipped update), with Gaussian noise of standard
deviation `noise_multiplier * clipping_norm`, is (alpha, alpha / (2 sigma^2))
-RDP for every order alpha > 1, where sigma is the noise multiplier. RDP of
Gaussian releases adds up across releases, so a hospital that took part in
`rounds` rounds, over any number of runs, has spent

    rho = sum over its rounds of 1 / (2 sigma_round^2)

and is (alpha, alpha * rho)-RDP. That is converted to (epsilon, delta)
with the conversion of Canonne, Kamath and Steinke (2020, Proposition 12),
minimised over a grid of orders.

Assumptions, stated where the numbers are used (`summary.json`, the ledger):

- the unit of privacy is one hospital: neighbouring federations differ by
  adding or removing one hospital's whole update in a round (client-level
  DP), and each update's L2 norm is at most `clipping_norm`;
- no amplification by sampling: every hospital is asked every round
  (sampling rate 1), so a round counts in full;
- only model updates are covered. Evaluation counts and the standardisation
  statistics that hospitals also send are not noised and not accounted.
"""

from __future__ import annotations

import math

import numpy as np

# Orders alpha > 1 at which the bound is evaluated; dense near 1, where large
# rho puts the optimum, and wide enough for rho in (1e-6, 1e4).
_ORDERS = np.concatenate(
    [1.0 + np.geomspace(1e-4, 1.0, 400), np.geomspace(2.0, 1e6, 800)]
)


def rho_per_round(noise_multiplier: float) -> float:
    """RDP of one Gaussian release, per unit of order alpha: 1 / (2 sigma^2)."""
    if noise_multiplier <= 0:
        raise ValueError("noise_multiplier must be positive")
    return 1.0 / (2.0 * noise_multiplier**2)


def epsilon_from_rho(rho: float, delta: float) -> float:
    """The smallest epsilon the conversion gives for (alpha, alpha * rho)-RDP."""
    if not 0.0 < delta < 1.0:
        raise ValueError("delta must be between 0 and 1")
    if rho <= 0.0:
        return 0.0
    alphas = _ORDERS
    epsilons = (
        alphas * rho
        + np.log1p(-1.0 / alphas)
        - (math.log(delta) + np.log(alphas)) / (alphas - 1.0)
    )
    return max(0.0, float(np.min(epsilons)))


def gaussian_epsilon(*, rounds: int, noise_multiplier: float, delta: float) -> float:
    """Epsilon at `delta` after `rounds` Gaussian releases at one multiplier."""
    return epsilon_from_rho(rounds * rho_per_round(noise_multiplier), delta)
