"""One writer per table, checked in the source: status writes the status and cluster tables,
triage writes the dedup and guards tables, and nothing else writes either (the design's State
contract).

The check is on reach, not on the form of a write, so an alias cannot hide one: outside a
table's owner, no code names the table (``<x>.tables.<name>``) or takes the set of tables
(``<x>.tables`` on its own), except where they are declared and wired. Every other stage reads
through ``Shared.reads`` and ``Shared.guard_rows``, read-only proxies (a write raises). Triage's
in-memory state is reached through ``Shared.dedup``, so its mutating calls are checked too.
"""

import ast
from pathlib import Path

import pytest

from schemas.codec import RecordCodec
from schemas.records import ClusterStatus, RecoveryResult
from streams.status.reads import StatusReads
from streams.tables import Tables

STREAMS = Path(__file__).parents[2] / "streams"
OWNERS = {
    "status": "status",
    "summaries": "status",
    "seen": "triage",
    "targets": "triage",
    "guards": "triage",
}
#: Where the tables are declared (tables.py) and handed to their owners (pipeline.py).
WIRING = {"tables.py", "pipeline.py"}
DEDUP_WRITES = {"claim", "record_merge", "release", "remember", "set_claim", "flush"}


def _is_dedup(node: ast.expr) -> bool:
    """``dedup``, ``<x>.dedup(...)`` or ``<x>.dedup_state.partition(...)``: the triage state
    of one partition."""
    if isinstance(node, ast.Name):
        return node.id == "dedup"
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    func = node.func
    if func.attr == "dedup":
        return True
    return (
        func.attr == "partition"
        and isinstance(func.value, ast.Attribute)
        and func.value.attr == "dedup_state"
    )


def reaches(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) of every reach for a table, or the set of them, and every mutating call
    on triage's state, in ``tree``. ``what`` is a table's name, ``tables`` for the set, or
    ``dedup`` for triage's state."""
    found: list[tuple[int, str]] = []
    named = set()  # the ``<x>.tables`` nodes that name one table or a Faust manager's method
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "tables"
        ):
            named.add(id(node.value))
            if node.attr in Tables.__dataclass_fields__:
                found.append((node.lineno, node.attr))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in DEDUP_WRITES
            and _is_dedup(node.func.value)
        ):
            found.append((node.lineno, "dedup"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "tables" and id(node) not in named:
            found.append((node.lineno, "tables"))
    return sorted(found)


def strays(path: Path) -> list[str]:
    relative = path.relative_to(STREAMS)
    if relative.parts[0] in WIRING:
        return []
    stage, where = relative.parts[0], path.relative_to(STREAMS.parent)
    found = []
    for line, what in reaches(ast.parse(path.read_text(), str(path))):
        owner = {"tables": None, "dedup": "triage"}.get(what, OWNERS.get(what))
        if owner != stage:
            found.append(f"{where}:{line} reaches {what}")
    return found


def test_each_table_is_reached_only_by_its_owner() -> None:
    found = [stray for path in sorted(STREAMS.rglob("*.py")) for stray in strays(path)]
    assert not found, "\n".join(found)


def test_the_owners_cover_every_table() -> None:
    assert set(OWNERS) == set(Tables.__dataclass_fields__)


def test_the_check_sees_each_kind_of_reach() -> None:
    code = """
self.p.tables.status[k] = v
rows = self.p.tables.summaries
everything = self.shared.tables
self.p.app.tables["seen"][k] = v
self.p.dedup(0, "c").release("s", "t", "r", 0)
dedup.claim("s", "t", "r", source)
self.p.reads.row("c", "r")
self.executor.release(lambda r: True)
self.p.dedup_state.partition(0).flush(now)
app.tables.changelog_topics
self.p.dedup(0, "c").current_claim("s", "t")
"""
    assert reaches(ast.parse(code)) == [
        (2, "status"),
        (3, "summaries"),
        (4, "tables"),
        (5, "tables"),
        (6, "dedup"),
        (7, "dedup"),
        (10, "dedup"),
    ]


def test_the_reads_every_stage_holds_refuse_writes() -> None:
    rows, summaries = {"edge-1~rec-1": b"row"}, {"edge-1": b"summary"}
    reads = StatusReads.over(
        rows, summaries, RecordCodec(RecoveryResult), RecordCodec(ClusterStatus)
    )
    assert reads.clusters() == ["edge-1"]
    with pytest.raises(TypeError):
        reads.rows["edge-1~rec-2"] = b"stray"  # type: ignore[index]
    with pytest.raises(TypeError):
        del reads.summaries["edge-1"]  # type: ignore[attr-defined]
    rows["edge-1~rec-2"] = b"written by the owner"
    assert "edge-1~rec-2" in reads.rows, "a view, not a copy: it sees the owner's writes"
