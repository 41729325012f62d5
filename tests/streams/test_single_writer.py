"""One writer per table, checked in the source: status writes the status and cluster tables,
triage writes the dedup tables, and nothing else writes either (the design's State contract).
A write is an item assignment or deletion, or a mutating call, on the table."""

import ast
from pathlib import Path

STREAMS = Path(__file__).parents[2] / "streams"
MUTATORS = {"pop", "popitem", "clear", "update", "setdefault", "__setitem__", "__delitem__"}
DEDUP_WRITES = {"claim", "record_merge", "release", "remember", "set_claim", "flush"}
OWNERS = {"status": "status", "summaries": "status", "seen": "triage", "targets": "triage"}


def _table(node: ast.expr) -> str | None:
    """``x.tables.<name>`` -> name."""
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "tables"
    ):
        return node.attr
    return None


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


def writes(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, table) of every write to a table in ``tree``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            for target in targets:
                if isinstance(target, ast.Subscript) and (name := _table(target.value)):
                    found.append((node.lineno, name))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver, method = node.func.value, node.func.attr
            if method in MUTATORS and (name := _table(receiver)):
                found.append((node.lineno, name))
            if method in DEDUP_WRITES and _is_dedup(receiver):
                found.append((node.lineno, "targets"))
    return found


def test_each_table_is_written_only_by_its_stage() -> None:
    strays = []
    for path in sorted(STREAMS.rglob("*.py")):
        stage = path.relative_to(STREAMS).parts[0]
        for line, table in writes(ast.parse(path.read_text(), str(path))):
            if OWNERS.get(table) != stage:
                strays.append(f"{path.relative_to(STREAMS.parent)}:{line} writes {table}")
    assert not strays, "\n".join(strays)


def test_the_check_sees_each_kind_of_write() -> None:
    code = """
self.p.tables.status[k] = v
del self.p.tables.summaries[k]
self.tables.seen.pop(k)
self.p.dedup(0).release("s", "t", "r", 0)
dedup.claim("s", "t", "r", source)
self.p.tables.status.get(k)
self.executor.release(lambda r: True)
self.p.dedup_state.partition(0).flush(now)
"""
    assert writes(ast.parse(code)) == [
        (2, "status"),
        (3, "summaries"),
        (4, "seen"),
        (5, "targets"),
        (6, "targets"),
        (9, "targets"),
    ]
