"""Each table's changelog decodes exactly what the table wrote: recovery depends on it."""

from typing import Any

from faust.types import Message

from streams.app import create_app
from streams.config import ServiceSettings
from streams.tables import Tables
from streams.triage.rows import SeenEntry, TargetClaim, encode_seen


def changelog_round_trip_problems() -> list[str]:
    """Where a table's changelog topic decodes a record differently from what the table wrote.

    Table recovery reads the changelog through that topic; a difference means a restarted or
    rebalanced worker recovers wrong keys or values, or stalls in recovery.
    """
    settings = ServiceSettings()
    tables = Tables.declare(create_app(settings), settings.topics)
    samples: dict[str, tuple[Any, Any]] = {
        "status": (tables.status, b"\xc3\x01avro"),
        "summaries": (tables.summaries, b"\xc3\x01avro"),
        "seen": (
            tables.seen,
            encode_seen([SeenEntry("edge-1", "e-1", "r-1", "tmc.errors", 4, 1.5)]),
        ),
        "targets": (tables.targets, TargetClaim("r-1", merged_ids=("e",), merged_count=1).encode()),
    }
    problems = []
    for name, (table, value) in samples.items():
        topic, key = table.changelog_topic, "edge-1"
        raw_key, _ = topic.prepare_key(key, table.key_serializer)
        raw_value, _ = topic.prepare_value(value, table.value_serializer)
        message = Message(topic.get_topic_name(), 0, 0, 0.0, 0, [], raw_key, raw_value, None)
        try:
            back = (
                topic.schema.loads_key(table.app, message),
                topic.schema.loads_value(table.app, message),
            )
        except Exception as exc:
            problems.append(f"{name}: {raw_value!r} does not decode: {type(exc).__name__}: {exc}")
            continue
        if back != (key, value):
            problems.append(
                f"{name}: wrote {(key, value)!r} as {(raw_key, raw_value)!r}, reads {back!r}"
            )
    return problems


def test_table_changelogs_round_trip() -> None:
    problems = changelog_round_trip_problems()
    assert not problems, "\n".join(problems)
