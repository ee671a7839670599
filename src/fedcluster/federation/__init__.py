"""The federation file: what it may contain, how it is loaded and checked."""

from fedcluster.federation.load import load_federation
from fedcluster.federation.model import Federation, Hospital

__all__ = ["Federation", "Hospital", "load_federation"]
