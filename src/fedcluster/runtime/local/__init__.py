"""The local deployed runtime: a real SuperLink and one SuperNode per hospital.

Everything runs on this machine as separate processes that talk only over TLS,
with each hospital's SuperNode admitted by its own registered key. The public
entry points are re-exported here:

- `start_federation` / `stop_federation` / `federation_status`: what
  `fedcluster up`, `down` and `status` do;
- `run_on_local_federation` (or `submit_run` then `wait_for_run`): what
  `fedcluster run --runtime local` does once the federation is up.

Importing this package does not import Flower: Flower runs in the processes
this package starts, and is driven through its command line.
"""

from fedcluster.runtime.local.start import restart_supernode, start_federation
from fedcluster.runtime.local.status import FederationStatus, federation_status
from fedcluster.runtime.local.stop import StopReport, stop_federation
from fedcluster.runtime.local.submit import (
    FlowerRun,
    run_on_local_federation,
    run_status,
    submit_run,
    wait_for_run,
)

__all__ = [
    "FederationStatus",
    "FlowerRun",
    "StopReport",
    "federation_status",
    "restart_supernode",
    "run_on_local_federation",
    "run_status",
    "start_federation",
    "stop_federation",
    "submit_run",
    "wait_for_run",
]
