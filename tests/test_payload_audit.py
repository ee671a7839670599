"""The payload audit describes what a hospital sends, and never its values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from flwr.app import Context, Message, MessageType, RecordDict
from flwr.supercore.task_identity import TaskIdentity

from fedcluster.app import protocol
from fedcluster.app.payload_audit import AUDIT_FOLDER_VARIABLE, payload_audit_mod


def _exchange() -> tuple[Message, Context]:
    # Messages take their run and sender from the process's task identity.
    TaskIdentity.run_id, TaskIdentity.task_id, TaskIdentity.node_id = 1, 1, 0
    request = Message(
        RecordDict({protocol.INSTRUCTIONS: protocol.instructions(protocol.ROUND)}),
        dst_node_id=7,
        message_type=MessageType.TRAIN,
    )
    context = Context(
        run_id=1,
        node_id=7,
        node_config={"hospital": "VA Long Beach"},
        state=RecordDict(),
        run_config={},
    )
    return request, context


def _reply(request: Message, context: Context) -> Message:
    return protocol.site_reply(
        request,
        "VA Long Beach",
        arrays={
            protocol.UPDATED_MODEL: protocol.to_array_record(
                {"0.weight": np.full((1, 4), 0.123456, np.float32)}
            )
        },
    )


def test_each_reply_is_described_by_names_shapes_and_dtypes_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Prepare
    monkeypatch.setenv(AUDIT_FOLDER_VARIABLE, str(tmp_path))
    request, context = _exchange()

    # Act
    reply = payload_audit_mod(request, context, _reply)

    # Assert
    assert protocol.UPDATED_MODEL in reply.content.array_records
    text = (tmp_path / "va-long-beach.jsonl").read_text()
    entry = json.loads(text)
    assert entry["action"] == "round"
    assert entry["hospital"] == "VA Long Beach"
    assert entry["arrays"] == {
        "updated-model": {"0.weight": {"shape": [1, 4], "dtype": "float32"}}
    }
    assert "0.123456" not in text


def test_without_the_variable_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Prepare
    monkeypatch.delenv(AUDIT_FOLDER_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)
    request, context = _exchange()

    # Act
    payload_audit_mod(request, context, _reply)

    # Assert
    assert list(tmp_path.iterdir()) == []
