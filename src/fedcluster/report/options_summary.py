"""The privacy and robustness options' part of `summary.json`.

`add_options` fills, from the run folder and the federation file:

- `summary["privacy"]`: whether differential privacy was on, its settings,
  the accountant, and epsilon at the stated delta for the run and for each
  hospital (this run alone, and all runs in the privacy ledger together);
- `summary["security"]`: one key per option, `false` when off, otherwise a
  small table of what was in force; the report shows these keys as they are;
- `summary["results"][...]["personalised"]`: each hospital's fine-tuned
  model on its own test set, beside local, federated and centralized.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fedcluster.federation.model import Federation
from fedcluster.federation.options import ROBUST_STRATEGIES, secure_aggregation_on
from fedcluster.security.accounting import epsilon_from_rho, rho_per_round
from fedcluster.security.ledger import PrivacyLedger, rounds_spent

ACCOUNTANT = (
    "Rényi DP of the Gaussian mechanism, composed over the rounds each hospital "
    "took part in, converted to (epsilon, delta) after Canonne, Kamath and "
    "Steinke (2020); one hospital's update is the unit (client level); no "
    "amplification by sampling (every hospital is asked every round)"
)


def add_options(
    summary: dict[str, Any],
    federation: Federation,
    metrics: Sequence[Mapping[str, Any]],
    baselines: Mapping[str, Any],
) -> None:
    """Record the options of this run in `summary` (see module docstring)."""
    privacy = privacy_record(
        federation,
        metrics,
        run_id=str(summary.get("run_id", "")),
        completed=summary.get("status") == "completed",
    )
    summary["privacy"] = privacy
    security = summary.setdefault("security", {})
    security.update(_security(federation, privacy))
    _add_personalised(summary.get("results", {}), baselines)


def privacy_record(
    federation: Federation,
    metrics: Sequence[Mapping[str, Any]],
    *,
    run_id: str,
    completed: bool,
) -> dict[str, Any]:
    settings = federation.privacy
    if settings is None:
        return {
            "differential_privacy": False,
            "note": "updates were not noised; no formal privacy guarantee",
        }
    names = [hospital.name for hospital in federation.hospitals]
    spent = rounds_spent(metrics, names, completed=completed, planned=federation.rounds)
    per_round = rho_per_round(settings.noise_multiplier)
    ledger = PrivacyLedger(federation.state_dir)
    hospitals: dict[str, Any] = {}
    for name in names:
        rho = spent[name] * per_round
        hospitals[name] = {
            "rounds": spent[name],
            "epsilon": epsilon_from_rho(rho, settings.delta),
            "epsilon_all_runs": epsilon_from_rho(
                ledger.rho_spent(name, excluding=run_id) + rho, settings.delta
            ),
            "budget": settings.budget_of(name),
        }
    return {
        "differential_privacy": True,
        "noise_added_by": settings.noise,
        "clipping_norm": settings.clipping_norm,
        "noise_multiplier": settings.noise_multiplier,
        "delta": settings.delta,
        "epsilon": max((h["epsilon"] for h in hospitals.values()), default=0.0),
        "hospitals": hospitals,
        "accountant": ACCOUNTANT,
        "ledger": str(ledger.path),
    }


def _security(federation: Federation, privacy: Mapping[str, Any]) -> dict[str, Any]:
    security: dict[str, Any] = {"differential_privacy": False}
    if privacy.get("differential_privacy"):
        security["differential_privacy"] = {
            "noise added by": "each hospital"
            if privacy["noise_added_by"] == "hospital"
            else "the server, to the sum",
            "clipping norm": privacy["clipping_norm"],
            "noise multiplier": privacy["noise_multiplier"],
            "epsilon": f"{privacy['epsilon']:.2f} at delta {privacy['delta']:g}",
            "epsilon per hospital, this run / all runs / budget": {
                name: f"{h['epsilon']:.2f} / {h['epsilon_all_runs']:.2f} / "
                + ("none" if h["budget"] is None else f"{h['budget']:g}")
                for name, h in privacy["hospitals"].items()
            },
        }

    secure = federation.secure_aggregation
    security["secure_aggregation"] = (
        {
            "server reads": "only the sum of the updates",
            "protocol": "SecAgg+ masking on fedcluster's round loop",
            "shares to recover a dropout": secure.threshold or "a majority",
        }
        if secure is not None and secure_aggregation_on(federation)
        else False
    )

    strategy = federation.strategy
    security["robust_aggregation"] = (
        {"strategy": strategy.name, **strategy.model_dump(exclude={"name"})}
        if strategy.name in ROBUST_STRATEGIES
        else False
    )

    personalisation = federation.personalisation
    security["personalisation"] = (
        {"local epochs after training": personalisation.epochs}
        if personalisation is not None and personalisation.enabled
        else False
    )
    if federation.attack is not None:
        security["poisoning_attack_for_testing"] = {
            "hospital": federation.attack.hospital,
            "update scaled by": federation.attack.scale,
        }
    return security


def _add_personalised(results: dict[str, Any], baselines: Mapping[str, Any]) -> None:
    personalised = baselines.get("personalised", {})
    for name, metrics in personalised.items():
        if name in results:
            results[name]["personalised"] = _pick(metrics)
    pooled = baselines.get("personalised_pooled")
    if pooled and "pooled" in results:
        results["pooled"]["personalised"] = _pick(pooled)


def _pick(metrics: Mapping[str, Any]) -> dict[str, Any]:
    return {key: metrics.get(key) for key in ("auc", "accuracy")}
