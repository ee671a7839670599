"""Minibatch training shared by the built-in tasks, with FedProx's pull.

Each task builds its own optimiser and loss; this loop shuffles with a seeded
generator, steps through minibatches, and adds the proximal term that keeps a
hospital's model near the one the round started from when `proximal_mu` > 0.
"""

from __future__ import annotations

from typing import Any


def train_minibatches(
    model: Any,
    inputs: Any,
    targets: Any,
    *,
    optimiser: Any,
    loss_fn: Any,
    epochs: int,
    batch_size: int,
    seed: int,
    proximal_mu: float = 0.0,
) -> float:
    """Train `model` in place; return the mean training loss per example."""
    import torch

    anchor = [p.detach().clone() for p in model.parameters()]
    generator = torch.Generator().manual_seed(seed)
    total_loss, seen = 0.0, 0
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(inputs), generator=generator).to(inputs.device)
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            optimiser.zero_grad()
            loss = loss_fn(model(inputs[batch]), targets[batch])
            total_loss += loss.item() * len(batch)
            seen += len(batch)
            if proximal_mu > 0:
                drift = sum(
                    ((p - a) ** 2).sum()
                    for p, a in zip(model.parameters(), anchor, strict=True)
                )
                loss = loss + proximal_mu / 2 * drift
            loss.backward()
            optimiser.step()
    return total_loss / max(seen, 1)
