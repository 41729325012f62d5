"""The readiness signal: one log line per transition and an atomically written ready file."""

import json
import logging
import os
from pathlib import Path

import pytest

from streams.readiness import Readiness


def test_ready_writes_the_file_and_logs_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ready_file = tmp_path / "run" / "ready"
    readiness = Readiness(ready_file)
    assert not readiness.ready
    assert not ready_file.exists()
    with caplog.at_level(logging.INFO, logger="streams.readiness"):
        readiness.mark_ready("partitions [0, 1, 2] recovered and caught up")
        readiness.mark_ready("again")
    assert readiness.ready
    content = json.loads(ready_file.read_text())
    assert content["detail"] == "partitions [0, 1, 2] recovered and caught up"
    assert content["pid"] == os.getpid()
    lines = [r.getMessage() for r in caplog.records if r.name == "streams.readiness"]
    assert lines == ["worker ready: partitions [0, 1, 2] recovered and caught up"]
    assert sorted(p.name for p in ready_file.parent.iterdir()) == ["ready"], "no temp files left"


def test_not_ready_removes_the_file_and_the_next_ready_logs_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ready_file = tmp_path / "ready"
    readiness = Readiness(ready_file)
    with caplog.at_level(logging.INFO, logger="streams.readiness"):
        readiness.mark_ready("first")
        readiness.mark_not_ready()
        assert not ready_file.exists()
        readiness.mark_not_ready()  # idempotent
        readiness.mark_ready("second")
    assert ready_file.exists()
    lines = [r.getMessage() for r in caplog.records if r.name == "streams.readiness"]
    assert lines == ["worker ready: first", "worker not ready", "worker ready: second"]


def test_a_stale_file_from_a_killed_worker_is_removed_at_start(tmp_path: Path) -> None:
    ready_file = tmp_path / "ready"
    ready_file.write_text('{"detail": "the previous process"}\n')
    readiness = Readiness(ready_file)
    assert not ready_file.exists()
    assert not readiness.ready


def test_without_a_file_it_only_logs(caplog: pytest.LogCaptureFixture) -> None:
    readiness = Readiness(None)
    with caplog.at_level(logging.INFO, logger="streams.readiness"):
        readiness.mark_ready("joined")
        readiness.mark_not_ready()
    assert [r.getMessage() for r in caplog.records if r.name == "streams.readiness"] == [
        "worker ready: joined",
        "worker not ready",
    ]


def test_a_failed_write_leaves_neither_a_partial_file_nor_a_temporary_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The content goes to a temporary file that is renamed over the ready file, so a
    probe never reads half of it; a failure before the rename cleans up."""
    ready_file = tmp_path / "ready"
    readiness = Readiness(ready_file)

    def no_rename(src: str, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(OSError, match="No space left"):
        readiness.mark_ready("joined")
    assert not readiness.ready
    assert list(tmp_path.iterdir()) == []


def test_a_hold_keeps_the_worker_not_ready_until_released(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ready_file = tmp_path / "ready"
    readiness = Readiness(ready_file)
    with caplog.at_level(logging.INFO, logger="streams.readiness"):
        readiness.hold("the runtime configuration is read")
        readiness.mark_ready("caught up")
        assert (readiness.ready, ready_file.exists()) == (False, False)
        assert readiness.waiting_for == ["the runtime configuration is read"]
        readiness.release("the runtime configuration is read")
        assert (readiness.ready, readiness.waiting_for) == (True, [])
        readiness.hold("something else")
        assert (readiness.ready, ready_file.exists()) == (False, False)
    lines = [r.getMessage() for r in caplog.records if r.name == "streams.readiness"]
    assert lines == [
        "worker not ready until the runtime configuration is read",
        "worker ready: caught up",
        "worker not ready until something else",
        "worker not ready",
    ]
