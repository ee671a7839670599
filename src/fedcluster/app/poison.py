"""For tests and demonstrations only: one hospital sends a poisoned update.

The federation file's `[attack]` table names a hospital and a `scale`. The
server passes both in the round orders, and this ClientApp mod, at the named
hospital only, replaces the trained model by `global + scale * (trained -
global)` before the reply leaves. The poisoned update therefore travels the
real message path and meets the same checks and strategy as an honest one,
which is what the robust-aggregation tests need to show.

No honest deployment sets `[attack]`; the run's summary records it, and the
report shows it among the security settings.
"""

from __future__ import annotations

import logging

from flwr.app import Context, Message
from flwr.clientapp.typing import ClientAppCallable

from fedcluster.app import protocol

log = logging.getLogger(__name__)

ATTACK_HOSPITAL = "attack-hospital"
ATTACK_SCALE = "attack-scale"


def poison_mod(
    message: Message, context: Context, call_next: ClientAppCallable
) -> Message:
    """Scale the named hospital's update in its round replies."""
    reply = call_next(message, context)
    orders = message.content.config_records.get(protocol.INSTRUCTIONS)
    if orders is None or ATTACK_HOSPITAL not in orders or reply.has_error():
        return reply
    site = reply.content.config_records.get(protocol.SITE)
    arrays = reply.content.array_records
    if (
        site is None
        or str(site.get("hospital")) != str(orders[ATTACK_HOSPITAL])
        or protocol.UPDATED_MODEL not in arrays
    ):
        return reply

    scale = protocol.real(orders[ATTACK_SCALE])
    global_model = protocol.arrays_in(message.content, protocol.GLOBAL_MODEL)
    trained = protocol.arrays_in(reply.content, protocol.UPDATED_MODEL)
    poisoned = {
        name: (
            global_model[name] + scale * (trained[name] - global_model[name])
        ).astype(trained[name].dtype)
        for name in trained
    }
    reply.content[protocol.UPDATED_MODEL] = protocol.to_array_record(poisoned)
    log.warning("attack: %s scaled its update by %g", site.get("hospital"), scale)
    return reply
