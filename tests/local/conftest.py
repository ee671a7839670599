"""Fixtures for the local runtime: a provisioned federation, and one kept running.

Whatever a test starts is stopped afterwards, and any process still found
under the test's folder is killed and reported, so that no test leaves a
process behind, even when it fails half-way.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_helpers import kill_everything_under, write_federation

from fedcluster.federation.load import load_federation
from fedcluster.federation.model import Federation

os.environ["FLWR_TELEMETRY_ENABLED"] = "0"
os.environ["FLWR_DISABLE_UPDATE_CHECK"] = "1"


@pytest.fixture
def federation_file(tmp_path: Path) -> Path:
    """A two-hospital federation file with free ports, not provisioned."""
    return write_federation(tmp_path)


@pytest.fixture(scope="module")
def running_federation(
    tmp_path_factory: pytest.TempPathFactory, demo_data: Path
) -> Iterator[Federation]:
    """Two demo hospitals, provisioned and up for the whole module."""
    from fedcluster.runtime.local import start_federation, stop_federation
    from fedcluster.security.pki import provision

    folder = tmp_path_factory.mktemp("running")
    federation = load_federation(write_federation(folder, data=demo_data))
    provision(federation)
    try:
        start_federation(federation)
        yield federation
    finally:
        try:
            stop_federation(federation)
        finally:
            leftovers = kill_everything_under(folder)
            assert not leftovers, f"processes left behind: {leftovers}"
