"""Helpers for the Kubernetes runtime tests: federations, renders, fake tools.

There is no cluster here. Commands that would reach one (`kubectl`,
`liqoctl`, `flwr`) are replaced, through PATH, by `fake_tool.py`, which
prints documents recorded from real tools (in `recorded/`) and logs every call.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fedcluster.federation.load import load_federation
from fedcluster.federation.model import Federation
from fedcluster.runtime.kubernetes.example import EXAMPLE_TOML
from fedcluster.runtime.kubernetes.render import Rendered, render

HERE = Path(__file__).parent
RECORDED = HERE / "recorded"
SCHEMAS = HERE / "schemas"
KUBECTL = shutil.which("kubectl")


def example_text(hospitals: int = 3) -> str:
    """The `init --kubernetes` example, or the same with `hospitals` hospitals."""
    if hospitals == 3:
        return EXAMPLE_TOML
    head = EXAMPLE_TOML.split("\n[[hospital]]\n", 1)[0] + "\n"
    tables = []
    for number in range(1, hospitals + 1):
        source = (
            'data_host_path = "/srv/fedcluster"'
            if number % 2
            else f'data_pvc = "heart-data-{number}"'
        )
        tables.append(
            f"""[[hospital]]
name = "Hospital {number:02d}"
data = "data/hospital-{number:02d}.csv"
[hospital.kubernetes]
cluster_id = "hospital-{number:02d}"
{source}
data_file = "site-{number:02d}.csv"
public_key = "keys/hospital-{number:02d}.pub"
"""
        )
    return head + "\n".join(tables)


def write_federation(folder: Path, text: str) -> Federation:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "federation.toml"
    path.write_text(text, encoding="utf-8")
    return load_federation(path)


def render_example(folder: Path, hospitals: int = 3) -> Rendered:
    federation = write_federation(folder, example_text(hospitals))
    return render(federation, folder / "out")


def kustomize(folder: Path) -> list[dict[str, Any]]:
    """The objects `kubectl apply -k folder` would send, built offline."""
    assert KUBECTL, "kubectl is needed to build the kustomization"
    built = subprocess.run(
        [KUBECTL, "kustomize", str(folder)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return [item for item in yaml.safe_load_all(built.stdout) if item]


def load_yaml_file(path: Path) -> list[dict[str, Any]]:
    return [item for item in yaml.safe_load_all(path.read_text()) if item]


@dataclass
class FakeTools:
    """Fake `kubectl`, `liqoctl` and `flwr` on PATH, answering from a script.

    `answers` is a list of `{"when": [tokens...], "stdout": text or
    {"file": name}, "exit": code}`; the first entry whose tokens all appear in
    the call answers it. Every call is appended to `calls`.
    """

    folder: Path

    def answer(
        self,
        when: list[str],
        *,
        stdout: str = "",
        recorded: str | None = None,
        binary: Path | None = None,
        exit_code: int = 0,
        stderr: str = "",
        linger: float = 0.0,
    ) -> None:
        answers = self._answers()
        answers.append(
            {
                "when": when,
                "stdout": stdout,
                "file": str(RECORDED / recorded) if recorded else None,
                "binary": str(binary) if binary else None,
                "exit": exit_code,
                "stderr": stderr,
                "linger": linger,
            }
        )
        (self.folder / "answers.json").write_text(json.dumps(answers))

    @property
    def calls(self) -> list[list[str]]:
        log = self.folder / "calls.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    def called(self, *tokens: str) -> list[list[str]]:
        return [call for call in self.calls if all(t in call for t in tokens)]

    def _answers(self) -> list[dict[str, Any]]:
        path = self.folder / "answers.json"
        return json.loads(path.read_text()) if path.exists() else []
