"""The hospital's side of update compression and record packing: a Flower mod
around the ClientApp.

The server names the compression in every message's instructions, and sends
the global model compressed (see `rounds`). A reply leaves the hospital
through this mod, which compresses it last of all, after any other mod (update
clipping and noise, say) has done its work on plain arrays: what it encodes is
exactly what travels. In a deployed run the server also asks for each record
to be packed into one array and the message's records bundled into one (see
`packing`), which this mod does last. Incoming arrays are taken out of their
bundle before anything reads them; they need nothing else, since each
`Array` names its own encoding and `protocol.from_array_record` reads them
all.
"""

from __future__ import annotations

from flwr.app import Context, Message
from flwr.clientapp.typing import ClientAppCallable

from fedcluster.app import protocol
from fedcluster.app.compression import decode_record, encode_exact, encode_model
from fedcluster.app.packing import PACK, bundle_arrays, unbundle_arrays

# The key in a message's instructions that names the compression.
COMPRESSION = "compression"

# Reply records and whether rounding them is allowed.
_LOSSY = (protocol.UPDATED_MODEL,)
_EXACT = (protocol.EVALUATION, protocol.SITE_STATISTICS)


def compression_mod(
    message: Message, context: Context, call_next: ClientAppCallable
) -> Message:
    """Unbundle the message; compress the reply's model and its counts, then
    pack and bundle its records, as the server asked."""
    unbundle_arrays(message.content)
    reply = call_next(message, context)
    orders = message.content.config_records.get(protocol.INSTRUCTIONS)
    if orders is None or reply.has_error() or not reply.has_content():
        return reply
    method = str(orders.get(COMPRESSION, "none"))
    content = reply.content
    for key, record in list(content.array_records.items()):
        if method != "none" and key in _LOSSY:
            record = encode_model(decode_record(record), method)
        elif method != "none" and key in _EXACT:
            record = encode_exact(decode_record(record), method)
        content[key] = record
    if orders.get(PACK, False):
        bundle_arrays(content)
    return reply
