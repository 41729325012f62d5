"""A three-way merge of Kubernetes objects, as ``kubectl apply`` reasons about them.

``original`` is what the writer last applied, ``desired`` what it wants now, ``live`` what
the API server holds. Every field the writer changed (original -> desired) is applied to
live, unless someone else changed the same field (original -> live) to something else:
such a field is *unmergeable* and keeps live's value, so no one's change is lost silently.
Fields only others changed stay as they are, and so do the defaults the API server filled
in. Lists of objects with unique names (containers, ports, env) merge element by element,
keyed by name, as a strategic merge patch does; other lists are atomic. Paths read
``spec.replicas`` or ``spec.containers.web.image``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

_ABSENT: Any = object()
#: The object's identity and what the server owns: never part of a writer's intent.
_SERVER_OWNED = {
    "metadata": {
        "name",
        "namespace",
        "resourceVersion",
        "uid",
        "creationTimestamp",
        "generation",
        "managedFields",
    },
}


class _Named(dict[str, Any]):
    """A list of named objects, keyed by name while merging (insertion order kept)."""


def _keyed(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _keyed(item) for key, item in value.items()}
    if isinstance(value, list):
        names = [item.get("name") if isinstance(item, dict) else None for item in value]
        if value and all(isinstance(n, str) for n in names) and len(set(names)) == len(names):
            return _Named((str(n), _keyed(item)) for n, item in zip(names, value, strict=True))
        return [_keyed(item) for item in value]
    return value


def _unkeyed(value: Any) -> Any:
    if isinstance(value, _Named):
        return [_unkeyed(item) for item in value.values()]
    if isinstance(value, dict):
        return {key: _unkeyed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unkeyed(item) for item in value]
    return value


@dataclass
class MergeResult:
    merged: dict[str, Any]
    applied: list[str] = field(default_factory=list)
    unmergeable: list[str] = field(default_factory=list)


def _changes(before: Any, after: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Leaf paths whose value differs from ``before`` to ``after`` (_ABSENT: removed)."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: dict[tuple[str, ...], Any] = {}
        for key in before.keys() | after.keys():
            if key in _SERVER_OWNED.get(path[-1] if path else "", set()) or (
                not path and key == "status"
            ):
                continue
            found.update(_changes(before.get(key, _ABSENT), after.get(key, _ABSENT), (*path, key)))
        return found
    return {} if before == after else {path: after}


def _at(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return _ABSENT
        obj = obj[key]
    return obj


def _set(obj: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        child = obj.get(key)
        if not isinstance(child, dict):
            child = obj[key] = {}
        obj = child
    if value is _ABSENT:
        obj.pop(path[-1], None)
    else:
        obj[path[-1]] = copy.deepcopy(value)


def three_way(
    original: dict[str, Any], desired: dict[str, Any], live: dict[str, Any]
) -> MergeResult:
    """Live with the writer's changes applied wherever they do not clash with others'."""
    original, desired, live = _keyed(original), _keyed(desired), _keyed(live)
    result = MergeResult(copy.deepcopy(live))
    for path, value in sorted(_changes(original, desired).items()):
        current = _at(live, path)
        name = ".".join(path)
        if current == value:
            continue
        if current == _at(original, path):
            _set(result.merged, path, value)
            result.applied.append(name)
        else:
            result.unmergeable.append(name)
    result.merged = _unkeyed(result.merged)
    return result
