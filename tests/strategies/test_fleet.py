"""Fleet file validation: every mistake names its field, and tokens never show."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from strategies.adapters.fleet import FleetConfigError, load_fleet, parse_fleet
from strategies.gateway import UnknownCluster

SECRET = "s3cr3t-t0ken-value"


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "east.token"
    path.write_text(f"{SECRET}\n")
    return path


@pytest.fixture(autouse=True)
def token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KCP_TOKEN", SECRET)
    monkeypatch.delenv("UNSET_TOKEN", raising=False)


def document(token: Path, **east: Any) -> dict[str, Any]:
    """A valid fleet document, with cluster east's entry changed (None removes a field)."""
    entry = {
        "server": "https://east.example:6443",
        "logical_cluster": "root:org:team",
        "token_file": str(token),
        **east,
    }
    return {
        "control_plane": {"url": "https://kcp.example:6443/", "token_env": "KCP_TOKEN"},
        "clusters": {"east": {k: v for k, v in entry.items() if v is not None}},
    }


def test_a_valid_file_loads_and_reads_tokens_on_demand(token_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(yaml.safe_dump(document(token_file)))

    fleet = load_fleet(path)

    assert fleet.control_plane.url == "https://kcp.example:6443"
    east = fleet.cluster("east")
    assert (east.server, east.logical_cluster) == ("https://east.example:6443", "root:org:team")
    token = east.bearer_token()
    assert token is not None
    assert token.get_secret_value() == SECRET
    assert SECRET not in f"{fleet!r} {fleet} {token!r} {token}"
    with pytest.raises(UnknownCluster):
        fleet.cluster("west")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"server": "ftp://east"}, "clusters.east.server: Value error, must be an http://"),
        ({"server": "https://user:pw@east"}, "clusters.east.server: Value error, must not carry"),
        ({"logical_cluster": "Root"}, "clusters.east.logical_cluster: String should match"),
        ({"sever": "https://east"}, "clusters.east.sever: Extra inputs are not permitted"),
        (
            {"token_env": "KCP_TOKEN"},
            "clusters.east: Value error, set one of token_file, token_env and exec",
        ),
        (
            {"token_file": None, "token_env": "UNSET_TOKEN"},
            "clusters.east.token_env: Value error, environment variable UNSET_TOKEN is not set",
        ),
        ({"token_file": "/nonexistent/token"}, "clusters.east.token_file: Path does not point"),
        ({"ca_file": "/nonexistent/ca.pem"}, "clusters.east.ca_file: Path does not point"),
    ],
)
def test_a_bad_cluster_field_is_named(
    token_file: Path, change: dict[str, Any], expected: str
) -> None:
    with pytest.raises(FleetConfigError) as bad:
        parse_fleet(document(token_file, **change), "fleet.yaml")

    assert str(bad.value).startswith("fleet.yaml: ")
    assert expected in str(bad.value)
    assert SECRET not in str(bad.value)


def test_an_empty_token_file_is_named(token_file: Path) -> None:
    token_file.write_text("  \n")
    with pytest.raises(
        FleetConfigError, match=r"clusters\.east\.token_file: .*token file is empty"
    ):
        parse_fleet(document(token_file))


def test_a_bad_cluster_name_is_named(token_file: Path) -> None:
    doc = document(token_file)
    doc["clusters"] = {"East_1": doc["clusters"]["east"]}
    with pytest.raises(FleetConfigError, match=r"clusters\.East_1\.\[key\]: String should match"):
        parse_fleet(doc)


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"clusters": {}}, "control_plane: Field required"),
        ({"control_plane": {"url": "https://kcp"}, "clusters": {}}, "clusters: Dictionary should"),
        ([1, 2], "(top level): Input should be a valid dictionary"),
    ],
)
def test_missing_sections_are_named(doc: object, expected: str) -> None:
    with pytest.raises(FleetConfigError) as bad:
        parse_fleet(doc)
    assert expected in str(bad.value)


def test_unreadable_or_malformed_files_are_reported(tmp_path: Path) -> None:
    with pytest.raises(FleetConfigError, match="cannot read fleet file"):
        load_fleet(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("clusters: [unclosed")
    with pytest.raises(FleetConfigError, match="is not valid YAML"):
        load_fleet(broken)
