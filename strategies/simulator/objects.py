"""Kubernetes objects held by a simulated API server: REST paths, resourceVersions, the
status subresource, and a conflicting writer.

Like the API server, a write to the main resource keeps the stored ``status`` and a write to
``/status`` keeps everything but ``status``; a PUT or a patch naming a resourceVersion that
is not current is 409; every accepted write bumps the resourceVersion, and a change of
``spec`` bumps ``metadata.generation``. A *conflicting writer* (fault injection) models
another controller: before each of the next ``times`` writes to an object it applies its
own merge patch, so the incoming write is stale.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any

from strategies.gateway import KubeObject, ObjectRef
from strategies.resources import plural
from strategies.simulator.kube import merge_patch

#: Metadata the server owns: a write cannot change them.
_SYSTEM_FIELDS = frozenset({"uid", "creationTimestamp"})


class ApiFailure(Exception):
    """An answer other than success: its HTTP code, Status reason and message."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Request:
    """A REST path taken apart: the object (or collection, when ``ref.name`` is empty) and
    the subresource."""

    ref: ObjectRef
    subresource: str | None = None

    @classmethod
    def parse(cls, path: str) -> Request:
        """``/api/v1/namespaces/ns/pods/x/status`` and the like; ApiFailure 404 otherwise."""
        parts = [p for p in path.split("/") if p]
        if len(parts) >= 2 and parts[0] == "api":
            api, rest = parts[1], parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            api, rest = f"{parts[1]}/{parts[2]}", parts[3:]
        else:
            raise ApiFailure(404, "NotFound", f"the server could not find {path}")
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise ApiFailure(404, "NotFound", f"the server could not find {path}")
        name = rest[1] if len(rest) > 1 else ""
        return cls(ObjectRef(api, rest[0], name, namespace), rest[2] if len(rest) > 2 else None)


def ref_of(obj: KubeObject) -> ObjectRef:
    """Where an object of this apiVersion, kind, namespace and name lives."""
    metadata = obj["metadata"]
    return ObjectRef(
        obj["apiVersion"], plural(obj["kind"]), metadata["name"], metadata.get("namespace")
    )


def _label(ref: ObjectRef) -> str:
    group = ref.api.rpartition("/")[0]
    return f"{ref.resource}.{group}" if group else ref.resource


def conflict(ref: ObjectRef) -> ApiFailure:
    return ApiFailure(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {_label(ref)} "{ref.name}": the object has been'
        " modified; please apply your changes to the latest version and try again",
    )


def not_found(ref: ObjectRef) -> ApiFailure:
    return ApiFailure(404, "NotFound", f'{_label(ref)} "{ref.name}" not found')


def _check_body(body: Any, namespace: str | None) -> None:
    """A written body must be an object whose namespace, if it names one, is the URL's."""
    if not isinstance(body, dict) or not isinstance(body.get("metadata"), dict):
        raise ApiFailure(400, "BadRequest", "the body must be a Kubernetes object")
    if body["metadata"].get("namespace", namespace) != namespace:
        raise ApiFailure(
            400,
            "BadRequest",
            "the namespace of the provided object does not match the namespace sent on the request",
        )


@dataclass
class ConflictingWriter:
    patch: dict[str, Any]
    times: int


@dataclass(eq=False)
class ObjectStore:
    """One API server's objects by location, with one resourceVersion sequence."""

    objects: dict[ObjectRef, KubeObject] = field(default_factory=dict)
    writers: dict[ObjectRef, ConflictingWriter] = field(default_factory=dict)
    _versions: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def put(self, obj: KubeObject) -> KubeObject:
        """Create or replace ``obj`` as is (fault injection and seeding, no checks)."""
        ref = ref_of(obj)
        obj = copy.deepcopy(obj)
        obj["metadata"].setdefault("generation", 1)
        return self._store(ref, obj)

    def get(self, ref: ObjectRef) -> KubeObject:
        found = self.objects.get(ref)
        if found is None:
            raise not_found(ref)
        return copy.deepcopy(found)

    def list(self, collection: ObjectRef) -> list[KubeObject]:
        """Objects of the collection's resource, in its namespace when it names one."""
        return [
            copy.deepcopy(obj)
            for ref, obj in sorted(self.objects.items(), key=lambda item: item[0].path())
            if (ref.api, ref.resource) == (collection.api, collection.resource)
            and collection.namespace in (None, ref.namespace)
        ]

    def create(self, collection: ObjectRef, body: Any) -> KubeObject:
        """POST: a new object in ``collection``; 409 AlreadyExists if its name is taken."""
        _check_body(body, collection.namespace)
        name = body["metadata"].get("name")
        if not isinstance(name, str) or not name:
            raise ApiFailure(422, "Invalid", "metadata.name: Required value: name is required")
        ref = ObjectRef(collection.api, collection.resource, name, collection.namespace)
        if ref in self.objects:
            raise ApiFailure(409, "AlreadyExists", f'{_label(ref)} "{name}" already exists')
        metadata = {**body["metadata"], "namespace": collection.namespace, "generation": 1}
        if collection.namespace is None:
            metadata.pop("namespace")
        return self._store(ref, {**copy.deepcopy(body), "metadata": metadata})

    def update(self, request: Request, body: Any) -> KubeObject:
        """PUT: replace the object (or its status), checking the resourceVersion if given."""
        ref = request.ref
        _check_body(body, ref.namespace)
        if body["metadata"].get("name") != ref.name:
            raise ApiFailure(400, "BadRequest", "the name of the object does not match the URL")
        current = self._before_write(ref, body["metadata"].get("resourceVersion"))
        return self._write(ref, current, body, request.subresource)

    def patch(self, request: Request, patch: Any) -> KubeObject:
        """JSON merge patch, checking a ``metadata.resourceVersion`` the patch carries."""
        if not isinstance(patch, dict):
            raise ApiFailure(400, "BadRequest", "the patch must be a JSON object")
        expected = (patch.get("metadata") or {}).get("resourceVersion")
        current = self._before_write(request.ref, expected)
        return self._write(request.ref, current, merge_patch(current, patch), request.subresource)

    def add_writer(self, ref: ObjectRef, patch: dict[str, Any], times: int) -> None:
        self.get(ref)
        self.writers[ref] = ConflictingWriter(patch, times)

    def _before_write(self, ref: ObjectRef, expected: object) -> KubeObject:
        """The current object, after the conflicting writer's turn; 409 if ``expected`` is stale."""
        current = self.get(ref)
        writer = self.writers.get(ref)
        if writer is not None and writer.times > 0:
            writer.times -= 1
            current = self._store(ref, merge_patch(current, writer.patch))
        if expected is not None and expected != current["metadata"]["resourceVersion"]:
            raise conflict(ref)
        return current

    def _write(
        self, ref: ObjectRef, current: KubeObject, new: KubeObject, subresource: str | None
    ) -> KubeObject:
        if subresource not in (None, "status"):
            raise ApiFailure(404, "NotFound", f"no subresource {subresource!r}")
        if subresource == "status":
            result = {**current, "status": new.get("status", {})}
        else:
            kept = {k: v for k, v in current["metadata"].items() if k in _SYSTEM_FIELDS}
            generation = current["metadata"].get("generation", 1)
            if new.get("spec") != current.get("spec"):
                generation += 1
            result = {**new, "metadata": {**new["metadata"], **kept, "generation": generation}}
            result.pop("status", None)
            if "status" in current:
                result["status"] = current["status"]
        return self._store(ref, result)

    def _store(self, ref: ObjectRef, obj: KubeObject) -> KubeObject:
        obj["metadata"] = {**obj["metadata"], "resourceVersion": str(next(self._versions))}
        self.objects[ref] = obj
        return copy.deepcopy(obj)
