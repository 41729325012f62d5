"""Refuse writer schemas that let a few bytes claim unbounded work.

An Avro array is a count followed by items. If an item can encode in zero bytes (null, an empty
record, fixed(0)), a ten-byte message can claim 2**62 items and the reader loops and allocates
forever. With items of at least one byte, a bogus count runs out of input and fails fast; strings
and bytes are already checked against the remaining input by fastavro. So a schema is safe to
decode untrusted bytes with when none of its arrays has zero-width items.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_COUNTED = frozenset({"array", "map", "enum"})


def zero_width_arrays(parsed: Mapping[str, Any]) -> list[str]:
    """Names of the records that hold arrays whose items can encode in zero bytes."""
    named: Mapping[str, Any] = parsed.get("__named_schemas", {})
    found: list[str] = []
    visited: set[str] = set()

    def zero_width(node: Any, active: frozenset[str]) -> bool:
        if isinstance(node, list):
            return False  # a union always writes its branch index
        if isinstance(node, Mapping):
            kind = node["type"]
            if kind == "record":
                return all(zero_width(f["type"], active) for f in node["fields"])
            if kind == "fixed":
                return bool(node["size"] == 0)
            return False if kind in _COUNTED else zero_width(kind, active)
        if node in named:
            return node not in active and zero_width(named[node], active | {node})
        return bool(node == "null")

    def visit(node: Any, owner: str) -> None:
        if isinstance(node, list):
            for branch in node:
                visit(branch, owner)
        elif isinstance(node, Mapping):
            kind = node["type"]
            if kind == "record" and node["name"] not in visited:
                visited.add(node["name"])
                for f in node["fields"]:
                    visit(f["type"], node["name"])
            elif kind == "array":
                if zero_width(node["items"], frozenset()):
                    found.append(owner)
                visit(node["items"], owner)
            elif kind == "map":
                visit(node["values"], owner)
        elif node in named:
            visit(named[node], owner)

    visit(parsed, str(parsed.get("name", "<top>")))
    return found
