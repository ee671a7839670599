"""Secure aggregation at the hospital: keys, sealed shares, masked updates.

A ClientApp mod, outermost of the hospital's mods so that it masks the update
after clipping and noise. It answers the three secure-aggregation actions
itself and rewrites round replies; everything else passes through. Private
keys stay in the ClientApp's `context.state`, which the SuperNode keeps at
the hospital between messages of a run; they never travel.

What a hospital checks before it reveals anything (see
`fedcluster.app.secure_aggregation` for the whole protocol):

- its own public keys are listed as it made them, and no two keys repeat;
- every share it opens was sealed by the hospital the server names, for this
  hospital, in this key epoch (and round, for self-mask shares);
- within one key epoch it never reveals the self-mask share of a hospital
  whose key share it has revealed, which together would unmask that
  hospital's update.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message
from flwr.clientapp.typing import ClientAppCallable, Mod

from fedcluster.app import protocol
from fedcluster.app.privacy import NOISE_AT
from fedcluster.security import secure_sum

log = logging.getLogger(__name__)

# Round-order and state keys.
EPOCH = "secure-epoch"
BITS = "secure-bits"
THRESHOLD = "secure-threshold"
_STATE = "secure-aggregation"
WORDS = "words"  # array name of the masked vector in MASKED_UPDATE


def flatten(arrays: dict[str, Any], names: list[str]) -> np.ndarray[Any, Any]:
    return np.concatenate(
        [np.asarray(arrays[n], dtype=np.float64).ravel() for n in names]
    )


def secure_aggregation_mod(hospital_of: Callable[[Context], str]) -> Mod:
    """The mod; `hospital_of` names the hospital this ClientApp runs for."""

    def mod(
        message: Message, context: Context, call_next: ClientAppCallable
    ) -> Message:
        orders = message.content.config_records.get(protocol.INSTRUCTIONS)
        action = str(orders.get("action", "")) if orders is not None else ""
        if orders is not None and action in _STAGES:
            hospital = hospital_of(context)
            try:
                details = _STAGES[action](orders, context, hospital)
            except (KeyError, ValueError) as error:
                log.warning("secure aggregation at %s: %s", hospital, error)
                details = {"error": f"secure aggregation: {error}"}
            return protocol.site_reply(message, hospital, details=details)

        reply = call_next(message, context)
        if orders is None or action != protocol.ROUND or EPOCH not in orders:
            return reply
        try:
            return _masked(message, reply, context, orders)
        except (KeyError, ValueError) as error:
            hospital = hospital_of(context)
            log.warning("secure aggregation at %s: %s", hospital, error)
            return protocol.site_reply(
                message, hospital, details={"error": f"secure aggregation: {error}"}
            )

    return mod


# --- the stages --------------------------------------------------------------


def _keys(orders: ConfigRecord, context: Context, hospital: str) -> dict[str, Any]:
    """Make this epoch's two key pairs: one to agree masks, one to seal shares."""
    mask_private, mask_public = secure_sum.new_key_pair()
    seal_private, seal_public = secure_sum.new_key_pair()
    context.state.config_records[_STATE] = ConfigRecord(
        {
            "epoch": str(orders[EPOCH]),
            "mask-private": mask_private,
            "seal-private": seal_private,
            "mask-public": mask_public,
            "seal-public": seal_public,
            "members": "{}",
            "revealed": "[]",
        }
    )
    return {"mask-public": mask_public.decode(), "seal-public": seal_public.decode()}


def _shares(orders: ConfigRecord, context: Context, hospital: str) -> dict[str, Any]:
    """Seal one Shamir share of the mask key for every member."""
    state = _state(context, str(orders[EPOCH]))
    members: dict[str, list[str]] = json.loads(str(orders["public-keys"]))
    threshold = protocol.whole(orders[THRESHOLD])
    own = [
        _secret(state, "mask-public").decode(),
        _secret(state, "seal-public").decode(),
    ]
    if members.get(hospital) != own:
        raise ValueError("the server listed other public keys for this hospital")
    keys = [key for pair in members.values() for key in pair]
    if len(set(keys)) != len(keys):
        raise ValueError("two members share a public key")
    if not 2 <= threshold <= len(members):
        raise ValueError(f"threshold {threshold} for {len(members)} members")

    names = sorted(members)
    shares = secure_sum.create_shares(
        _secret(state, "mask-private"), threshold, len(names)
    )
    sealed = {
        name: secure_sum.seal_share(
            _seal_key(state, members, name),
            {"kind": "key", "from": hospital, "to": name, "epoch": state["epoch"]},
            share,
        )
        for name, share in zip(names, shares, strict=True)
    }
    state["members"] = json.dumps(members)
    state["threshold"] = threshold
    return {"sealed": json.dumps(sealed)}


def _unmask(orders: ConfigRecord, context: Context, hospital: str) -> dict[str, Any]:
    """Reveal self-mask shares of hospitals that sent, key shares of the rest."""
    state = _state(context, str(orders[EPOCH]))
    members = json.loads(str(state["members"]))
    alive = set(json.loads(str(orders["alive"])))
    dropped = set(json.loads(str(orders["dropped"])))
    server_round = protocol.whole(orders["server-round"])
    if alive & dropped or not (alive | dropped) <= set(members):
        raise ValueError("the server's lists of hospitals do not add up")
    revealed = set(json.loads(str(state["revealed"])))
    if revealed & alive:
        raise ValueError(
            f"the key of {sorted(revealed & alive)} was revealed earlier in this "
            "epoch; its self mask is the last thing hiding its update"
        )

    self_shares: dict[str, str] = {}
    for sender, sealed in json.loads(str(orders["self-shares"])).items():
        if sender in alive:
            label = {
                "kind": "self",
                "from": sender,
                "to": hospital,
                "epoch": state["epoch"],
                "round": server_round,
            }
            share = secure_sum.open_share(
                _seal_key(state, members, sender), sealed, label
            )
            self_shares[sender] = base64.b64encode(share).decode()
    key_shares: dict[str, str] = {}
    for sender, sealed in json.loads(str(orders["key-shares"])).items():
        if sender in dropped:
            label = {
                "kind": "key",
                "from": sender,
                "to": hospital,
                "epoch": state["epoch"],
            }
            share = secure_sum.open_share(
                _seal_key(state, members, sender), sealed, label
            )
            key_shares[sender] = base64.b64encode(share).decode()
    state["revealed"] = json.dumps(sorted(revealed | set(key_shares)))
    return {
        "self-shares": json.dumps(self_shares),
        "key-shares": json.dumps(key_shares),
    }


_STAGES: dict[str, Callable[[ConfigRecord, Context, str], dict[str, Any]]] = {
    protocol.SECURE_KEYS: _keys,
    protocol.SECURE_SHARES: _shares,
    protocol.SECURE_UNMASK: _unmask,
}


# --- the masked update -------------------------------------------------------


def _masked(
    message: Message, reply: Message, context: Context, orders: ConfigRecord
) -> Message:
    """Replace the update in a round reply by its masked weighted vector."""
    content = reply.content
    if reply.has_error() or protocol.UPDATED_MODEL not in content.array_records:
        return reply
    hospital = str(content.config_records[protocol.SITE]["hospital"])
    state = _state(context, str(orders[EPOCH]))
    members: dict[str, list[str]] = json.loads(str(state["members"]))
    if hospital not in members:
        raise ValueError("this hospital is not a member of the round's key epoch")
    server_round = protocol.whole(orders["server-round"])
    bits = protocol.whole(orders[BITS])

    # The weighted update [w, w * delta]; w = 1 when the server adds DP noise.
    global_model = protocol.arrays_in(message.content, protocol.GLOBAL_MODEL)
    trained = protocol.arrays_in(content, protocol.UPDATED_MODEL)
    names = sorted(global_model)
    delta = flatten(trained, names) - flatten(global_model, names)
    if not np.all(np.isfinite(delta)):
        raise ValueError("the update holds NaN or infinite values")
    examples = protocol.whole(content.metric_records[protocol.TRAINING]["num-examples"])
    weight = 1.0 if str(orders.get(NOISE_AT, "")) == "server" else float(examples)
    words = secure_sum.encode(np.concatenate([[weight], weight * delta]), bits)

    # A fresh self mask, and one mask per other member that cancels in the sum.
    seed = secrets.token_bytes(32)
    words += secure_sum.mask(seed, len(words))
    mask_private = _secret(state, "mask-private")
    for other in sorted(members):
        if other == hospital:
            continue
        secret = secure_sum.agreed_key(mask_private, members[other][0].encode())
        pair = secure_sum.pair_mask(
            secret=secret,
            epoch=str(state["epoch"]),
            server_round=server_round,
            length=len(words),
        )
        words = words + pair if hospital < other else words - pair

    # The self mask's seed, shared so that the server can remove it from the sum.
    shares = secure_sum.create_shares(
        seed, protocol.whole(state["threshold"]), len(members)
    )
    sealed = {
        name: secure_sum.seal_share(
            _seal_key(state, members, name),
            {
                "kind": "self",
                "from": hospital,
                "to": name,
                "epoch": state["epoch"],
                "round": server_round,
            },
            share,
        )
        for name, share in zip(sorted(members), shares, strict=True)
    }
    del content[protocol.UPDATED_MODEL]
    content[protocol.MASKED_UPDATE] = ArrayRecord(
        {WORDS: Array(np.ascontiguousarray(words))}
    )
    content[protocol.SEALED_SHARES] = ConfigRecord({"sealed": json.dumps(sealed)})
    return reply


def _state(context: Context, epoch: str) -> ConfigRecord:
    state = context.state.config_records.get(_STATE)
    if state is None or str(state["epoch"]) != epoch:
        raise ValueError(f"no keys for epoch {epoch}; the server must set them up")
    return state


def _seal_key(state: ConfigRecord, members: dict[str, list[str]], name: str) -> bytes:
    return secure_sum.agreed_key(
        _secret(state, "seal-private"), members[name][1].encode()
    )


def _secret(state: ConfigRecord, key: str) -> bytes:
    value = state[key]
    if not isinstance(value, bytes):
        raise ValueError(f"the stored {key} is not a key")
    return value
