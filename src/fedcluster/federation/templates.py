"""Federation files that `fedcluster init` and `fedcluster demo` write."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fedcluster.data.demo import DEMO_FEATURES, DEMO_LABEL, DEMO_MISSING_CODES


def _features_toml() -> str:
    lines = ",\n".join(f'    "{feature}"' for feature in DEMO_FEATURES)
    return f"[\n{lines},\n]"


def _missing_codes_toml() -> str:
    pairs = ", ".join(f"{k} = {v}" for k, v in DEMO_MISSING_CODES.items())
    return "{ " + pairs + " }"


def starter_federation(name: str = "my-federation") -> str:
    """A commented federation file to edit, for the demo's four hospitals."""
    return f'''# A fedcluster federation file: every command takes it with -f FILE.
# Paths are relative to this file's folder.

name = "{name}"
# simulation (one machine, Flower's simulation engine), local (real SuperLink
# and SuperNode processes over TLS) or kubernetes (clusters joined with Liqo).
runtime = "simulation"
rounds = 20            # federated rounds
local_epochs = 1       # passes over its own rows each hospital makes per round
min_hospitals = 2      # a round needs at least this many hospitals' updates
seed = 0               # fixes every hospital's train/test split and the initial model
round_timeout = 300    # seconds to wait for a round's replies before going on without
quorum_deadline = 120  # seconds tolerated below min_hospitals before the run fails
runs_dir = "runs"      # where each run's folder is written

[task]
name = "heart"         # built-in; or your own task as "package.module:ClassName"
model = "logistic"     # logistic or mlp
label = "{DEMO_LABEL}"       # 0/1 column
features = {_features_toml()}
# Values that mean "not measured" in a column.
missing_codes = {_missing_codes_toml()}
test_fraction = 0.25   # share of each hospital's rows held out for testing
learning_rate = 0.1
batch_size = 32

[strategy]
name = "fedavg"        # fedavg, fedprox (proximal_mu = 0.1) or fedadam (eta = 0.05)

# One [[hospital]] table per hospital: its name and its own data file (CSV or
# Parquet). A hospital's client reads this file and no other.
[[hospital]]
name = "Cleveland"
data = "data/cleveland.csv"

[[hospital]]
name = "Hungary"
data = "data/hungary.csv"

[[hospital]]
name = "VA Long Beach"
data = "data/va-long-beach.csv"

[[hospital]]
name = "Switzerland"
data = "data/switzerland.csv"
'''


def demo_federation(
    hospitals: Sequence[tuple[str, Path]],
    *,
    rounds: int,
    seed: int,
    runs_dir: Path,
    runtime: str = "simulation",
) -> str:
    """The demo's federation file for the hospitals' CSVs just written."""
    tables = "\n".join(
        f'[[hospital]]\nname = "{name}"\ndata = "data/{path.name}"\n'
        for name, path in hospitals
    )
    return f'''# The fedcluster demo: the UCI heart disease study's four hospitals.
name = "heart-demo"
runtime = "{runtime}"
rounds = {rounds}
local_epochs = 1
min_hospitals = 2
seed = {seed}
runs_dir = "{runs_dir.as_posix()}"

[task]
name = "heart"
model = "logistic"
label = "{DEMO_LABEL}"
features = {_features_toml()}
missing_codes = {_missing_codes_toml()}

[strategy]
name = "fedavg"

{tables}'''
