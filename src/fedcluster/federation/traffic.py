"""The `[traffic]` table of `federation.toml`: what crosses the network, and its price.

Between clouds, traffic is money. `compression` chooses how model arrays travel,
in both directions (server to hospital and back):

- `none`: as Flower serialises NumPy arrays, 32-bit floats;
- `float16`: 16-bit floats, half the bytes of the model;
- `int8`: 8 bits per value with a per-tensor scale and offset, a quarter.

Whatever the choice, the statistics and evaluation counts that make pooled
results exact are never rounded. `price_per_gb` turns the bytes a run moved
into an egress cost estimate in `summary.json`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Compression = Literal["none", "float16", "int8"]


class TrafficSettings(BaseModel):
    """Update compression and the egress price per gigabyte."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    compression: Compression = "none"
    # Price of one GB (10^9 bytes) leaving a cloud, in whatever currency the
    # federation budgets in; 0 leaves the estimate at zero.
    price_per_gb: Annotated[float, Field(ge=0.0)] = 0.0
