"""Fixtures for the Kubernetes runtime tests (helpers live in `k8s_helpers`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from k8s_helpers import HERE, FakeTools


@pytest.fixture
def fake_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTools]:
    folder = tmp_path / "fake-tools"
    folder.mkdir()
    for tool in ("kubectl", "liqoctl", "flwr"):
        script = folder / tool
        script.write_text(
            f"#!{sys.executable}\n"
            "import os, runpy\n"
            f"os.environ['FAKE_TOOL_NAME'] = {tool!r}\n"
            f"runpy.run_path({str(HERE / 'fake_tool.py')!r}, run_name='__main__')\n"
        )
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_TOOLS_DIR", str(folder))
    yield FakeTools(folder)
