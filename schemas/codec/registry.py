"""A client for the two Confluent Schema Registry REST calls the codec needs.

Synchronous on purpose: Faust codecs decode synchronously. A call has a short timeout, every
answer is cached (schema ids are immutable), and after a failure the client answers from memory
for ``retry_after`` seconds, so an outage costs one timeout, not one per message.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from schemas.errors import TmcRecoveryError

_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
_MAX_REMEMBERED_MISSES = 1024


class SchemaRegistryError(TmcRecoveryError):
    """The registry answered, but not with what was asked for."""


class RegistryUnreachable(SchemaRegistryError):
    """No usable answer: connection refused, timeout, or a server error."""


class SchemaNotRegistered(SchemaRegistryError):
    """The registry does not know this schema id."""


class SchemaRegistryClient:
    """``GET /schemas/ids/{id}`` and ``POST /subjects/{subject}/versions``, cached."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 2.0,
        retry_after: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url.rstrip("/")
        self._timeout = timeout
        self._retry_after = retry_after
        self._clock = clock
        self._schemas: dict[int, str] = {}
        self._ids: dict[tuple[str, str], int] = {}
        self._missing: dict[int, float] = {}
        self._down_until = 0.0
        self._down_reason = ""

    def schema(self, schema_id: int) -> str:
        """The schema text registered under ``schema_id``."""
        cached = self._schemas.get(schema_id)
        if cached is not None:
            return cached
        if self._missing.get(schema_id, 0.0) > self._clock():
            raise SchemaNotRegistered(f"schema id {schema_id} is not registered")
        try:
            answer = self._call("GET", f"/schemas/ids/{schema_id}", None)
        except SchemaNotRegistered:
            if len(self._missing) >= _MAX_REMEMBERED_MISSES:
                self._missing.clear()
            self._missing[schema_id] = self._clock() + self._retry_after
            raise
        text = answer.get("schema")
        if not isinstance(text, str):
            raise SchemaRegistryError(
                f"{self.url}: schema id {schema_id} came back without a schema"
            )
        self._schemas[schema_id] = text
        return text

    def register(self, subject: str, schema_text: str) -> int:
        """The id of ``schema_text`` under ``subject``, registering it if it is new."""
        key = (subject, schema_text)
        cached = self._ids.get(key)
        if cached is not None:
            return cached
        path = f"/subjects/{quote(subject, safe='')}/versions"
        answer = self._call("POST", path, {"schema": schema_text})
        schema_id = answer.get("id")
        if not isinstance(schema_id, int):
            raise SchemaRegistryError(f"{self.url}: registering {subject} returned no id: {answer}")
        self._ids[key] = schema_id
        self._schemas[schema_id] = schema_text
        return schema_id

    def _call(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        if self._down_until > self._clock():
            raise RegistryUnreachable(self._down_reason)
        request = urllib.request.Request(
            self.url + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": _CONTENT_TYPE, "Accept": f"{_CONTENT_TYPE}, application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise SchemaNotRegistered(f"{self.url}{path}: not found") from exc
            if exc.code < 500:
                raise SchemaRegistryError(
                    f"{self.url}{path}: HTTP {exc.code} {exc.reason}"
                ) from exc
            raise self._down(f"{self.url}{path}: HTTP {exc.code}") from exc
        except OSError as exc:  # URLError, timeouts, connection resets
            raise self._down(f"{self.url}{path}: {exc}") from exc
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise SchemaRegistryError(f"{self.url}{path}: the answer is not JSON") from exc
        if not isinstance(answer, dict):
            raise SchemaRegistryError(f"{self.url}{path}: expected a JSON object, got {answer!r}")
        return answer

    def _down(self, reason: str) -> RegistryUnreachable:
        self._down_reason = f"{reason} (not retrying for {self._retry_after:g} s)"
        self._down_until = self._clock() + self._retry_after
        return RegistryUnreachable(reason)
