"""`tmc-recovery kafka up|status|down` by hand, and its one-line errors."""

import asyncio
import json
import socket
import stat
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka.admin import NewTopic

from streams.broker.prerequisites import POM
from streams.broker.settings import LocalKafkaSettings
from streams.testing.harness import create_topics
from tests.cli import assert_one_line_error, run_cli
from tests.conftest import list_topics


def _port_open(bootstrap: str) -> bool:
    host, port = bootstrap.rsplit(":", 1)
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, int(port))) == 0


def _jvm_flags(pid: int) -> set[str]:
    return {
        arg for arg in Path(f"/proc/{pid}/cmdline").read_text().split("\0") if arg[:4] == "-XX:"
    }


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for init to reap it."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat_line.rsplit(")", 1)[-1].split()[0] != "Z"


@pytest.fixture
def run_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "kafka"
    run_cli("kafka", "down", "--wipe", "--run-dir", str(tmp_path / "kafka"))


def test_up_status_down_restart_leaves_nothing_behind(run_dir: Path) -> None:
    up = run_cli("kafka", "up", "--run-dir", str(run_dir), "--json")
    assert up.returncode == 0, up.stderr
    state = json.loads(up.stdout)
    assert state["bootstrap"].startswith("127.0.0.1:")
    assert _alive(state["pid"])
    assert _port_open(state["bootstrap"])
    assert _jvm_flags(state["pid"]) == set(LocalKafkaSettings().jvm_options.split())

    again = run_cli("kafka", "up", "--run-dir", str(run_dir), "--json")
    assert json.loads(again.stdout)["pid"] == state["pid"], "a second up reuses the broker"

    status = run_cli("kafka", "status", "--run-dir", str(run_dir), "--json")
    assert status.returncode == 0
    assert json.loads(status.stdout)["running"] is True

    asyncio.run(create_topics(state["bootstrap"], [NewTopic("kept.across.restart", 1, 1)]))
    down = run_cli("kafka", "down", "--run-dir", str(run_dir), "--json")
    assert json.loads(down.stdout) == {"stopped": True, "wiped": False}
    assert not _alive(state["pid"])
    assert not _port_open(state["bootstrap"])
    assert run_cli("kafka", "status", "--run-dir", str(run_dir)).returncode == 1

    light = {"TMC_BROKER_JVM_OPTIONS": "-XX:TieredStopAtLevel=1  -XX:+UseSerialGC"}
    restarted = json.loads(
        run_cli("kafka", "up", "--run-dir", str(run_dir), "--json", env=light).stdout
    )
    assert _jvm_flags(restarted["pid"]) == {"-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"}
    assert restarted["bootstrap"] == state["bootstrap"]
    assert restarted["cluster_id"] == state["cluster_id"]
    assert "kept.across.restart" in asyncio.run(list_topics(restarted["bootstrap"]))

    wiped = run_cli("kafka", "down", "--wipe", "--run-dir", str(run_dir), "--json")
    assert json.loads(wiped.stdout) == {"stopped": True, "wiped": True}
    assert not _alive(restarted["pid"])
    assert not _port_open(restarted["bootstrap"])
    assert not run_dir.exists()


def test_no_java(run_dir: Path) -> None:
    result = run_cli(
        "kafka", "up", "--run-dir", str(run_dir), env={"TMC_BROKER_JAVA": "/nonexistent/java"}
    )
    assert_one_line_error(result, "java not found", "/nonexistent/java")


def test_java_older_than_17(run_dir: Path, tmp_path: Path) -> None:
    old_java = tmp_path / "java"
    old_java.write_text("#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019-01-15' >&2\n")
    old_java.chmod(old_java.stat().st_mode | stat.S_IEXEC)
    result = run_cli(
        "kafka", "up", "--run-dir", str(run_dir), env={"TMC_BROKER_JAVA": str(old_java)}
    )
    assert_one_line_error(result, "needs Java 17", "is Java 11")


def test_no_mvn_and_no_jars(run_dir: Path, tmp_path: Path) -> None:
    env = {"TMC_BROKER_HOME": str(tmp_path / "empty-home"), "TMC_BROKER_MVN": "/nonexistent/mvn"}
    result = run_cli("kafka", "up", "--run-dir", str(run_dir), env=env)
    assert_one_line_error(result, "mvn was not found", "/nonexistent/mvn")


def test_port_taken(run_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("kafka", "up", "--run-dir", str(run_dir), "--port", str(port))
    assert_one_line_error(result, f"127.0.0.1:{port} is already in use")


def test_corrupt_data_dir(run_dir: Path) -> None:
    (run_dir / "data").mkdir(parents=True)
    (run_dir / "data" / "meta.properties").write_bytes(b"\x00\xffnot properties")
    result = run_cli("kafka", "up", "--run-dir", str(run_dir))
    assert_one_line_error(result, "is not a formatted KRaft log dir", "--wipe")


def test_invalid_setting_names_the_variable(run_dir: Path) -> None:
    result = run_cli("kafka", "up", "--run-dir", str(run_dir), env={"TMC_BROKER_PORT": "70000"})
    assert_one_line_error(
        result, "port (env TMC_BROKER_PORT) = '70000'", "less than or equal to 65535"
    )


def test_broker_not_ready_in_time_prints_its_log(run_dir: Path) -> None:
    result = run_cli(
        "kafka", "up", "--run-dir", str(run_dir), env={"TMC_BROKER_READY_TIMEOUT_S": "0.5"}
    )
    assert_one_line_error(
        result, "not ready within 0.5s", f"log: {run_dir / 'logs' / 'server.log'}"
    )
    assert run_cli("kafka", "status", "--run-dir", str(run_dir)).returncode == 1
    assert not [p for p in Path("/proc").glob("[0-9]*") if _runs_config(p, run_dir)]


def _runs_config(proc: Path, run_dir: Path) -> bool:
    try:
        return str(run_dir / "server.properties").encode() in (proc / "cmdline").read_bytes()
    except OSError:
        return False


def test_default_version_matches_the_pom() -> None:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    version = ET.parse(POM).getroot().find("m:properties/m:kafka.version", ns)
    assert version is not None
    assert version.text == LocalKafkaSettings().version
