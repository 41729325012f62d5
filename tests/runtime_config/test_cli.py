"""`config apply` refuses locally, before any Kafka, and reports Kafka trouble in one line."""

from pathlib import Path

import yaml

from tests.cli import assert_one_line_error, run_cli

UNREACHABLE = "127.0.0.1:1"


def _file(tmp_path: Path, document: object) -> str:
    path = tmp_path / "tuning.yaml"
    path.write_text(yaml.safe_dump(document))
    return str(path)


def test_a_bad_file_is_refused_naming_the_field(tmp_path: Path) -> None:
    cases = [
        ({"recoveryManager": {"recoveryTimeout": "soon"}}, "recoveryManager.recoveryTimeout"),
        ({"kafka": {"group_id": "x"}}, "kafka"),  # not a tunable section
        (
            {"recoveryManager": {"maxConcurrentRecoveries": 3}, "execution": {"max_concurrent": 4}},
            "recoveryManager.maxConcurrentRecoveries = 3 conflicts with execution.max_concurrent",
        ),
        (["a", "list"], "is not a YAML mapping of sections"),
    ]
    for document, named in cases:
        refused = run_cli("config", "apply", _file(tmp_path, document), "--bootstrap", UNREACHABLE)
        assert_one_line_error(refused, named)


def test_an_unreachable_broker_is_one_line(tmp_path: Path) -> None:
    good = _file(tmp_path, {"strategies": {"Migration": {"enabled": False}}})
    for args in (("apply", good), ("show",)):
        failed = run_cli("config", *args, "--bootstrap", UNREACHABLE)
        assert_one_line_error(failed, f"the config topic on {UNREACHABLE}")
