"""The Control API is reached through the Ingress or a port-forward that is
always closed afterwards; a run's folder comes back from the SuperLink pod."""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path

import pytest
from k8s_helpers import FakeTools, example_text, write_federation

from fedcluster.federation.model import Federation
from fedcluster.runtime.kubernetes import names
from fedcluster.runtime.kubernetes.plan import ClusterPlan, cluster_plan
from fedcluster.runtime.kubernetes.submission import (
    control_endpoint,
    fetch_run,
    run_on_kubernetes,
)
from fedcluster.runtime.kubernetes.tools import ClusterError, Tools


def _federation(tmp_path: Path, text: str | None = None) -> Federation:
    federation = write_federation(tmp_path, text or example_text())
    ca = tmp_path / ".fedcluster" / "pki" / "ca.pem"
    ca.parent.mkdir(parents=True)
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    return federation


def _plan(tmp_path: Path, text: str | None = None) -> ClusterPlan:
    return cluster_plan(_federation(tmp_path, text))


def _running_port_forwards(folder: Path) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if any(str(folder).encode() in w for w in words) and b"port-forward" in words:
            found.append(cmdline.parent.name)
    return found


def _tar(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as bundle:
        for name, content in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            bundle.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_with_an_ingress_the_cli_talks_to_it_and_nothing_is_forwarded(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    text = example_text().replace(
        '# ingress_host = "flower.example.org"', 'ingress_host = "flower.example.org"'
    )
    plan = _plan(tmp_path, text)

    # Act
    with control_endpoint(plan, Tools()) as link:
        address = link.address

    # Assert
    assert address == "flower.example.org:443"
    assert fake_tools.calls == []


def test_a_port_forward_serves_the_block_and_is_closed_after_it(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    plan = _plan(tmp_path)
    fake_tools.answer(
        ["kubectl", "port-forward"],
        stdout="Forwarding from 127.0.0.1:40123 -> 9093\n",
        linger=60,
    )

    # Act
    with control_endpoint(plan, Tools()) as link:
        address = link.address
        during = _running_port_forwards(fake_tools.folder)
    time.sleep(0.2)
    after = _running_port_forwards(fake_tools.folder)

    # Assert
    assert address == "127.0.0.1:40123"
    assert during and not after
    (call,) = fake_tools.calls
    assert call[1:5] == [
        "port-forward",
        "-n",
        "fedcluster",
        "service/superlink-control",
    ]
    assert call[call.index("--address") + 1] == "127.0.0.1"


def test_a_port_forward_closes_even_when_the_block_fails(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    plan = _plan(tmp_path)
    fake_tools.answer(
        ["kubectl", "port-forward"],
        stdout="Forwarding from 127.0.0.1:40124 -> 9093\n",
        linger=60,
    )

    # Act
    with pytest.raises(RuntimeError), control_endpoint(plan, Tools()):
        raise RuntimeError("the run failed")
    time.sleep(0.2)

    # Assert
    assert _running_port_forwards(fake_tools.folder) == []


def test_a_failed_port_forward_says_why_in_one_line(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    plan = _plan(tmp_path)
    fake_tools.answer(
        ["kubectl", "port-forward"],
        stderr='error: services "superlink-control" not found\n',
        exit_code=1,
    )

    # Act
    with pytest.raises(ClusterError) as failed, control_endpoint(plan, Tools()):
        pass

    # Assert
    assert str(failed.value) == (
        "port-forward to superlink-control failed: error: services "
        '"superlink-control" not found; is the SuperLink up (`fedcluster k8s status`)?'
    )


def test_a_run_folder_is_copied_back_and_nothing_escapes_it(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    plan = _plan(tmp_path)
    archive = tmp_path / "run.tar"
    archive.write_bytes(
        _tar(
            {
                "20261203-100000-heart-k8s/metrics.jsonl": b'{"round": 1}\n',
                "20261203-100000-heart-k8s/checkpoints/round-001.pt": b"weights",
                "../escape.txt": b"no",
            }
        )
    )
    fake_tools.answer(["kubectl", "exec"], binary=archive)
    destination = tmp_path / "runs" / "20261203-100000-heart-k8s"

    # Act
    fetch_run(plan, Tools(), "20261203-100000-heart-k8s", destination)

    # Assert
    assert (destination / "metrics.jsonl").read_text() == '{"round": 1}\n'
    assert (destination / "checkpoints" / "round-001.pt").read_bytes() == b"weights"
    assert not (tmp_path / "runs" / "escape.txt").exists()
    (call,) = fake_tools.calls
    assert call[call.index("--") + 1 :] == [
        "tar",
        "-C",
        names.RUNS_DIR,
        "-cf",
        "-",
        "20261203-100000-heart-k8s",
    ]


def test_run_on_kubernetes_hands_the_submitter_the_pod_paths_and_mirrors_the_run(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    federation = _federation(tmp_path)
    run_dir = tmp_path / "runs" / "20261203-100000-heart-k8s"
    archive = tmp_path / "run.tar"
    archive.write_bytes(_tar({f"{run_dir.name}/summary.json": b"{}"}))
    fake_tools.answer(
        ["kubectl", "port-forward"],
        stdout="Forwarding from 127.0.0.1:40125 -> 9093\n",
        linger=60,
    )
    fake_tools.answer(["kubectl", "exec"], binary=archive)
    seen: dict[str, object] = {}

    def submit(
        *,
        connection: str,
        env: dict[str, str],
        run_config: dict[str, str],
        resume: bool,
    ) -> None:
        seen.update(connection=connection, env=env, run_config=run_config)

    # Act
    run_on_kubernetes(federation, run_dir, submit=submit, copy_every=0.05)

    # Assert
    assert seen["connection"] == "fedcluster-kubernetes"
    assert seen["run_config"] == {
        "federation-file": names.FEDERATION_FILE,
        "runtime": "kubernetes",
        "run-dir": f"{names.RUNS_DIR}/{run_dir.name}",
    }
    env = seen["env"]
    assert isinstance(env, dict)
    assert env["FLWR_HOME"].endswith(".fedcluster/kubernetes/flwr-home")
    assert (run_dir / "summary.json").read_text() == "{}"
    assert _running_port_forwards(fake_tools.folder) == []


def test_the_default_submitter_runs_flwr_and_waits_for_the_end(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    federation = _federation(tmp_path)
    run_dir = tmp_path / "runs" / "20261203-110000-heart-k8s"
    archive = tmp_path / "run.tar"
    archive.write_bytes(_tar({f"{run_dir.name}/summary.json": b'{"status": "ok"}'}))
    fake_tools.answer(
        ["kubectl", "port-forward"],
        stdout="Forwarding from 127.0.0.1:40126 -> 9093\n",
        linger=60,
    )
    fake_tools.answer(["kubectl", "exec"], binary=archive)
    fake_tools.answer(["flwr", "run"], stdout='{"success": true, "run-id": 42}')
    fake_tools.answer(
        ["flwr", "ls"],
        stdout=(
            '{"success": true, "runs": [{"run-id": 42, '
            '"status": "finished:completed"}]}'
        ),
    )

    # Act
    run_on_kubernetes(federation, run_dir, copy_every=0.05)

    # Assert
    (submitted,) = fake_tools.called("flwr", "run")
    config = Path(submitted[submitted.index("--run-config") + 1]).read_text()
    assert f'federation-file = "{names.FEDERATION_FILE}"' in config
    assert f'run-dir = "{names.RUNS_DIR}/{run_dir.name}"' in config
    assert "resume = false" in config
    app = Path(submitted[2])
    assert (
        'serverapp = "fedcluster.app.server:app"'
        in (app / "pyproject.toml").read_text()
    )
    assert fake_tools.called("flwr", "ls", "--run-id", "42")
    assert (run_dir / "summary.json").read_text() == '{"status": "ok"}'


def test_a_failed_run_is_reported_in_one_line(
    tmp_path: Path, fake_tools: FakeTools
) -> None:
    # Prepare
    from fedcluster.errors import RunError

    federation = _federation(tmp_path)
    fake_tools.answer(
        ["kubectl", "port-forward"],
        stdout="Forwarding from 127.0.0.1:40127 -> 9093\n",
        linger=60,
    )
    fake_tools.answer(["kubectl", "exec"], exit_code=1, stderr="no such run\n")
    fake_tools.answer(["flwr", "run"], stdout='{"success": true, "run-id": 7}')
    fake_tools.answer(
        ["flwr", "ls"],
        stdout=(
            '{"success": true, "runs": [{"run-id": 7, "status": "finished:failed",'
            ' "status-details": "ServerApp raised an error"}]}'
        ),
    )

    # Act
    with pytest.raises(RunError) as failed:
        run_on_kubernetes(federation, tmp_path / "runs" / "r1", copy_every=0.05)

    # Assert
    assert str(failed.value) == (
        "Flower run 7 ended finished:failed: ServerApp raised an error"
    )
    assert _running_port_forwards(fake_tools.folder) == []
