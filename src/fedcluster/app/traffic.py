"""The hospital's side of update compression: a Flower mod around the ClientApp.

The server names the compression in every message's instructions, and sends
the global model compressed (see `rounds`). A reply leaves the hospital
through this mod, which compresses it last of all, after any other mod (update
clipping and noise, say) has done its work on plain arrays: what it encodes is
exactly what travels. Incoming arrays need no mod, since each `Array` names
its own encoding and `protocol.from_array_record` reads them all.
"""

from __future__ import annotations

from flwr.app import Context, Message
from flwr.clientapp.typing import ClientAppCallable

from fedcluster.app import protocol
from fedcluster.app.compression import decode_record, encode_exact, encode_model

# The key in a message's instructions that names the compression.
COMPRESSION = "compression"

# Reply records and whether rounding them is allowed.
_LOSSY = (protocol.UPDATED_MODEL,)
_EXACT = (protocol.EVALUATION, protocol.SITE_STATISTICS)


def compression_mod(
    message: Message, context: Context, call_next: ClientAppCallable
) -> Message:
    """Compress the reply's model and pack its counts, as the server asked."""
    reply = call_next(message, context)
    orders = message.content.config_records.get(protocol.INSTRUCTIONS)
    method = str(orders.get(COMPRESSION, "none")) if orders is not None else "none"
    if method == "none" or reply.has_error() or not reply.has_content():
        return reply
    content = reply.content
    for key, record in list(content.array_records.items()):
        if key in _LOSSY:
            content[key] = encode_model(decode_record(record), method)
        elif key in _EXACT:
            content[key] = encode_exact(decode_record(record), method)
    return reply
