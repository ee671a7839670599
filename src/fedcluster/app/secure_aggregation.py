"""Secure aggregation: the server learns the sum of the updates, not one of them.

This is our own implementation of the SecAgg+ protocol (Bell et al. 2020,
after Bonawitz et al. 2017) on top of our round loop, built from Flower's
SecAgg+ primitives (see `fedcluster.security.secure_sum`). Flower's
`SecAggPlusWorkflow` did not fit: it drives rounds through a legacy
`Strategy.aggregate_fit` with a `LegacyContext`, and its `secaggplus_mod`
reads the reply as a single legacy `FitRes`, whereas our one message per
round carries the evaluation counts beside the model, our strategies use the
Message API's `aggregate_train`, and our round loop polls replies itself.

The protocol, with hospitals known to each other by name:

1. Keys, once per key epoch (the first round, and again after any round in
   which a member dropped out or the set of hospitals changed):
   `secure-keys` asks each hospital for two fresh public keys (one to agree
   masks, one to seal shares); `secure-shares` relays the table of all of
   them, and each hospital returns one Shamir share of its mask key per
   member, each sealed (encrypted and labelled) for that member alone. The
   server keeps the sealed shares; it cannot open them.
2. Each round, in the ordinary round message, a hospital sends its weighted
   update `[w, w * delta]` as 64-bit fixed point plus a fresh self mask and,
   for every other member, a mask agreed with that member for this round,
   added or subtracted by name order so that each pair cancels. Beside it
   come shares of the self mask's seed, sealed for each member.
3. `secure-unmask` goes to every hospital whose masked vector arrived (the
   alive set); each opens and returns the self-mask shares of the alive
   hospitals and the mask-key shares of the members that sent nothing (the
   dropped set). With `threshold` shares the server rebuilds each alive
   hospital's self mask and each dropped hospital's pairwise masks, removes
   them from the sum of masked vectors, and decodes `sum(w * delta)` and
   `sum(w)`.

Dropouts: a member that does not send its masked vector in time is dropped
for the round; its pairwise masks are removed with its key shares, and keys
are made anew before the next round, because its key is then known. The
round fails, with a one-line error, when fewer than `threshold` hospitals
answer the unmask step. Nobody can be unmasked alone: the server never asks
for both kinds of share of one hospital in one round, and a hospital refuses
to reveal the self-mask share of one whose key share it revealed earlier in
the epoch.

Limits, plainly: the server is trusted to follow the protocol (honest but
curious), as in Flower's implementation: there is no consistency round
against a server that lies about who dropped, and no signatures binding keys
to the hospitals' SuperNode keys. Evaluation counts, statistics and
example counts still travel per hospital, as without secure aggregation;
only model updates are hidden. A hospital's update cannot be checked for
poisoning once masked, so robust strategies are refused with it.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from flwr.app import Message, MessageType, RecordDict
from flwr.serverapp import Grid

from fedcluster.app import protocol
from fedcluster.app.exchange import exchange
from fedcluster.app.secure_masking import BITS, EPOCH, THRESHOLD, WORDS, flatten
from fedcluster.app.strategies import Arrays, Update
from fedcluster.errors import RunError
from fedcluster.federation.options import SecureAggregationSettings
from fedcluster.security import secure_sum

log = logging.getLogger(__name__)

Identify = Callable[[int, Message], tuple[str | None, str | None]]


class SecureAggregation:
    """The server's side of the protocol for one run (see module docstring)."""

    def __init__(
        self,
        settings: SecureAggregationSettings,
        grid: Grid,
        *,
        identify: Identify,
        timeout: float,
        poll_interval: float,
    ) -> None:
        self.settings = settings
        self.grid = grid
        self.identify = identify
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.epoch: str | None = None
        self.threshold = 2
        self.node_of: dict[str, int] = {}
        self.public_keys: dict[str, list[str]] = {}
        # sealed mask-key shares, by recipient then sender
        self.key_shares: dict[str, dict[str, str]] = {}
        # this round's masked vectors and sealed self-mask shares, by sender
        self.masked: dict[str, secure_sum.Words] = {}
        self.self_shares: dict[str, dict[str, str]] = {}

    # --- before a round ------------------------------------------------------

    def round_orders(
        self, nodes: Sequence[int], node_hospital: dict[int, str]
    ) -> dict[str, Any]:
        """Set up keys when needed; the orders every round message carries."""
        online = {node_hospital[n]: n for n in nodes if n in node_hospital}
        if self.epoch is None or online != self.node_of:
            self._make_keys(online)
        self.masked.clear()
        self.self_shares.clear()
        return {
            EPOCH: self.epoch,
            BITS: self.settings.precision_bits,
            THRESHOLD: self.threshold,
        }

    def _make_keys(self, online: dict[str, int]) -> None:
        epoch = secrets.token_hex(8)
        replies = self._ask(protocol.SECURE_KEYS, online, {EPOCH: epoch})
        public_keys = {
            name: [str(site["mask-public"]), str(site["seal-public"])]
            for name, site in replies.items()
        }
        members = {name: online[name] for name in public_keys}
        threshold = self.settings.threshold or max(2, len(members) // 2 + 1)
        if len(members) < max(2, threshold):
            raise RunError(
                f"secure aggregation needs at least {max(2, threshold)} hospitals "
                f"with keys and {len(members)} have them; start the missing "
                "hospitals or lower secure_aggregation.threshold"
            )
        orders = {
            EPOCH: epoch,
            THRESHOLD: threshold,
            "public-keys": json.dumps(public_keys),
        }
        replies = self._ask(protocol.SECURE_SHARES, members, orders)
        if set(replies) != set(members):
            missing = sorted(set(members) - set(replies))
            raise RunError(
                f"secure aggregation: {', '.join(missing)} did not return key "
                "shares; the keys cannot protect a dropout, so the run stops"
            )
        self.key_shares = {name: {} for name in members}
        for sender, site in replies.items():
            for recipient, sealed in json.loads(str(site["sealed"])).items():
                if recipient in self.key_shares:
                    self.key_shares[recipient][sender] = sealed
        self.epoch, self.threshold = epoch, threshold
        self.node_of, self.public_keys = members, public_keys
        log.info(
            "secure aggregation: keys for %d hospitals, %d shares recover a mask",
            len(members),
            threshold,
        )

    # --- during a round ------------------------------------------------------

    def take(self, hospital: str, content: RecordDict) -> str | None:
        """Keep a hospital's masked update; why it cannot be used, if so."""
        if hospital not in self.node_of:
            return "not a member of this round's secure aggregation"
        if protocol.MASKED_UPDATE not in content.array_records:
            return "the update was sent without its mask"
        words = protocol.arrays_in(content, protocol.MASKED_UPDATE)[WORDS]
        if words.dtype != np.uint64:
            return f"the masked update holds {words.dtype}, not 64-bit words"
        sealed = content.config_records[protocol.SEALED_SHARES]["sealed"]
        self.masked[hospital] = words
        self.self_shares[hospital] = json.loads(str(sealed))
        return None

    # --- after a round -------------------------------------------------------

    def unmask(self, server_round: int, global_model: Arrays) -> list[Update]:
        """The round's average model, from the masked vectors that arrived."""
        alive = sorted(self.masked)
        dropped = sorted(set(self.node_of) - set(alive))
        if not alive:
            return []
        lengths = {len(words) for words in self.masked.values()}
        if len(lengths) != 1:
            raise RunError(f"round {server_round}: masked updates differ in length")

        self_shares, key_shares = self._collect_shares(server_round, alive, dropped)
        masked_sum = secure_sum.total([self.masked[name] for name in alive])
        length = lengths.pop()
        for name in alive:
            seed = secure_sum.combine_shares(self_shares[name][: self.threshold])
            masked_sum -= secure_sum.mask(seed, length)
        for gone in dropped:
            mask_key = secure_sum.combine_shares(key_shares[gone][: self.threshold])
            for name in alive:
                secret = secure_sum.agreed_key(
                    mask_key, self.public_keys[name][0].encode()
                )
                pair = secure_sum.pair_mask(
                    secret=secret,
                    epoch=str(self.epoch),
                    server_round=server_round,
                    length=length,
                )
                # `name` added the pair mask when its name sorts first.
                masked_sum = masked_sum - pair if name < gone else masked_sum + pair
        if dropped:
            log.info("round %d: %s dropped; new keys next round", server_round, dropped)
            self.epoch = None

        vector = secure_sum.decode(masked_sum, self.settings.precision_bits)
        if vector[0] <= 0:
            raise RunError(
                f"round {server_round}: the secure sum does not decode (total weight "
                f"{vector[0]:g}); a hospital sent a vector it did not mask as agreed"
            )
        weight, delta = vector[0], vector[1:] / vector[0]
        model: Arrays = {}
        offset = 0
        for name in sorted(global_model):
            reference = global_model[name]
            size = reference.size
            change = delta[offset : offset + size].reshape(reference.shape)
            model[name] = (reference + change).astype(reference.dtype)
            offset += size
        return [
            Update(
                f"secure sum of {len(alive)} hospitals",
                model,
                max(1, round(weight)),
                hospitals=len(alive),
            )
        ]

    def _collect_shares(
        self, server_round: int, alive: list[str], dropped: list[str]
    ) -> tuple[dict[str, list[bytes]], dict[str, list[bytes]]]:
        recipients = {name: self.node_of[name] for name in alive}
        per_recipient = {
            name: {
                "server-round": server_round,
                "alive": json.dumps(alive),
                "dropped": json.dumps(dropped),
                "self-shares": json.dumps(
                    {s: self.self_shares[s][name] for s in alive}
                ),
                "key-shares": json.dumps(
                    {d: self.key_shares[name][d] for d in dropped}
                ),
            }
            for name in alive
        }
        replies = self._ask(
            protocol.SECURE_UNMASK, recipients, {EPOCH: self.epoch}, per_recipient
        )
        self_shares: dict[str, list[bytes]] = {name: [] for name in alive}
        key_shares: dict[str, list[bytes]] = {name: [] for name in dropped}
        for site in replies.values():
            # Shares for hospitals the server did not ask about are ignored.
            for sender, share in json.loads(str(site["self-shares"])).items():
                if sender in self_shares:
                    self_shares[sender].append(base64.b64decode(share))
            for sender, share in json.loads(str(site["key-shares"])).items():
                if sender in key_shares:
                    key_shares[sender].append(base64.b64decode(share))
        short = [
            name
            for name, shares in {**self_shares, **key_shares}.items()
            if len(shares) < self.threshold
        ]
        if short:
            raise RunError(
                f"round {server_round}: only {len(replies)} hospital(s) helped "
                f"remove the masks and {self.threshold} are needed; the sum "
                "cannot be read, so the run stops"
            )
        return self_shares, key_shares

    # --- messages ------------------------------------------------------------

    def _ask(
        self,
        action: str,
        hospitals: dict[str, int],
        orders: dict[str, Any],
        per_hospital: dict[str, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Send `action` to each hospital; their site records, by hospital."""
        messages = []
        for name, node in hospitals.items():
            values = {**orders, **(per_hospital or {}).get(name, {})}
            messages.append(
                Message(
                    RecordDict(
                        {protocol.INSTRUCTIONS: protocol.instructions(action, **values)}
                    ),
                    dst_node_id=node,
                    message_type=MessageType.QUERY,
                )
            )
        result = exchange(
            self.grid, messages, timeout=self.timeout, poll_interval=self.poll_interval
        )
        answers: dict[str, Any] = {}
        for node, reply in result.replies.items():
            hospital, error = self.identify(node, reply)
            if hospital is None or hospitals.get(hospital) != node:
                continue
            if error:
                log.warning("secure aggregation: %s: %s", hospital, error)
                continue
            answers[hospital] = reply.content.config_records[protocol.SITE]
        return answers


def model_vector(arrays: Arrays) -> np.ndarray[Any, Any]:
    """A model's arrays as one vector, in the order secure aggregation uses."""
    return flatten(arrays, sorted(arrays))
