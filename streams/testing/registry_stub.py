"""A loopback stand-in for a Confluent-compatible schema registry.

It serves exactly the two endpoints the codec uses, as Confluent documents them, on 127.0.0.1 and
a random port, from its own thread and event loop (the codec's client is synchronous, so a server
on the test's own loop would deadlock). No real registry can be assembled here: Apicurio's
Confluent-compatible app is not resolvable from Maven Central.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from aiohttp import web

_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class RegistryStub:
    def __init__(self) -> None:
        self.schemas: dict[int, str] = {}
        self.subjects: dict[str, list[int]] = {}
        self.requests: list[tuple[str, str]] = []
        #: When set, every request is answered with this HTTP status (an outage or a bug).
        self.fail_with: int | None = None
        #: Seconds to wait before answering (a hung registry).
        self.delay = 0.0
        self._next_id = 101
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.url = ""

    def add(self, text: str) -> int:
        """Store ``text`` under a fresh id, as if some producer had registered it."""
        for schema_id, known in self.schemas.items():
            if json.loads(known) == json.loads(text):
                return schema_id
        schema_id = self._next_id
        self._next_id += 1
        self.schemas[schema_id] = text
        return schema_id

    async def _get_schema(self, request: web.Request) -> web.Response:
        schema_id = int(request.match_info["id"])
        if schema_id not in self.schemas:
            body = {"error_code": 40403, "message": "Schema not found"}
            return web.json_response(body, status=404, content_type=_CONTENT_TYPE)
        return web.json_response({"schema": self.schemas[schema_id]}, content_type=_CONTENT_TYPE)

    async def _register(self, request: web.Request) -> web.Response:
        payload = await request.json()
        schema_id = self.add(payload["schema"])
        self.subjects.setdefault(request.match_info["subject"], []).append(schema_id)
        return web.json_response({"id": schema_id}, content_type=_CONTENT_TYPE)

    @web.middleware
    async def _record(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        await asyncio.sleep(self.delay)
        if self.fail_with is not None:
            return web.json_response({"message": "injected"}, status=self.fail_with)
        return await handler(request)

    async def _start(self) -> None:
        app = web.Application(middlewares=[self._record])
        app.router.add_get("/schemas/ids/{id:[0-9]+}", self._get_schema)
        app.router.add_post("/subjects/{subject}/versions", self._register)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    def _run(self, coro: object) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)  # type: ignore[arg-type]

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[RegistryStub]:
        stub = cls()
        stub._thread.start()
        try:
            stub._run(stub._start())
            yield stub
        finally:
            if stub._runner is not None:
                stub._run(stub._runner.cleanup())
            stub._loop.call_soon_threadsafe(stub._loop.stop)
            stub._thread.join(timeout=10)
            stub._loop.close()
