"""Cluster ids and generated broker configuration (pure logic)."""

import base64
from pathlib import Path

import pytest

from streams.broker import properties
from streams.broker.prerequisites import parse_java_major
from streams.broker.properties import BrokerLayout


def test_cluster_id_is_16_bytes_base64url_without_padding() -> None:
    for _ in range(200):
        cid = properties.new_cluster_id()
        assert len(cid) == 22
        assert "=" not in cid
        assert not cid.startswith("-")
        assert len(base64.urlsafe_b64decode(cid + "==")) == 16


def test_cluster_id_retries_a_leading_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    dash_first = bytes([0xF8]) + bytes(15)  # base64url of 0xF8... starts with '-'
    ok = bytes(16)
    ids = iter([dash_first, ok])

    class FakeUuid:
        def __init__(self) -> None:
            self.bytes = next(ids)

    monkeypatch.setattr("streams.broker.properties.uuid.uuid4", FakeUuid)
    assert base64.urlsafe_b64encode(dash_first).decode().startswith("-")
    assert properties.new_cluster_id() == "AAAAAAAAAAAAAAAAAAAAAA"


def _layout(tmp_path: Path) -> BrokerLayout:
    return BrokerLayout("127.0.0.1", 19092, 19093, tmp_path / "data", tmp_path / "logs")


def test_server_properties_single_node_kraft_on_loopback(tmp_path: Path) -> None:
    props = properties.server_properties(_layout(tmp_path))
    assert props["process.roles"] == "broker,controller"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert "controller.quorum.voters" not in props  # --standalone is refused with it
    assert props["auto.create.topics.enable"] == "false"
    assert props["log.dirs"] == str(tmp_path / "data")
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "share.coordinator.state.topic.replication.factor",
    ):
        assert props[key] == "1"
    assert int(props["log.cleaner.dedupe.buffer.size"]) < 128 * 1024 * 1024


def test_properties_round_trip(tmp_path: Path) -> None:
    props = properties.server_properties(_layout(tmp_path))
    assert properties.parse_properties(properties.render_properties(props)) == props


def test_parse_properties_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="not a key=value line"):
        properties.parse_properties("cluster.id=x\n\x00\x01garbage\n")


def test_log4j_config_logs_info_to_the_given_file(tmp_path: Path) -> None:
    text = properties.log4j2_properties(tmp_path / "server.log")
    assert f"fileName = {tmp_path / 'server.log'}" in text
    assert "rootLogger.level = INFO" in text


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_392"', 8),
        ('openjdk version "11.0.2" 2019-01-15', 11),
        ("no version here", None),
    ],
)
def test_parse_java_major(output: str, major: int | None) -> None:
    assert parse_java_major(output) == major
