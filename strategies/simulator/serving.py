"""How a simulated endpoint serves a request: its injected fault first (an outage sits in
front of the API server), then bearer authentication, then the handler; every request is
logged on its endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from email.utils import formatdate

from aiohttp import web

from strategies.simulator.faults import Fault, FaultMode
from strategies.simulator.kube import status_response
from strategies.simulator.state import EndpointState, SimulatorState, bearer_matches

STATE = web.AppKey("state", SimulatorState)
READYZ_FAILED = "[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\nreadyz check failed\n"

CONFLICT = (
    "Operation cannot be fulfilled on synctargets.tmc.kcp.io: the object has been"
    " modified; please apply your changes to the latest version and try again"
)

Handler = Callable[[], Awaitable[web.Response]]


async def _fault_response(
    mode: FaultMode, fault: Fault, state: SimulatorState, *, readyz: bool
) -> web.Response | None:
    """The answer a fault forces, or None to serve the request normally (after any delay)."""
    if mode is FaultMode.HANG:
        await state.stopping.wait()
        return status_response(503, "ServiceUnavailable", "the simulator is stopping")
    if mode is FaultMode.SLOW:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(fault.spec.delay_s):
                await state.stopping.wait()
        return None
    if mode is FaultMode.DOWN:
        return status_response(
            503, "ServiceUnavailable", "the server is currently unable to handle the request"
        )
    if mode is FaultMode.ERROR500:
        if readyz:
            return web.Response(status=500, text=READYZ_FAILED)
        return status_response(500, "InternalError", "etcdserver: request timed out")
    if mode is FaultMode.CONFLICT:
        return status_response(409, "Conflict", CONFLICT)
    if mode is FaultMode.THROTTLE:
        response = status_response(
            429, "TooManyRequests", "the server has received too many requests"
        )
        if fault.spec.retry_after == "seconds":
            response.headers["Retry-After"] = str(round(fault.spec.delay_s))
        elif fault.spec.retry_after == "date":
            response.headers["Retry-After"] = formatdate(
                time.time() + fault.spec.delay_s, usegmt=True
            )
        return response
    return None


async def serve(
    request: web.Request,
    endpoint: EndpointState,
    handler: Handler,
    *,
    write: bool = False,
    readyz: bool = False,
) -> web.Response:
    """Apply the endpoint's fault, then its authentication, then ``handler``; log the result."""
    state = request.app[STATE]
    arrived = time.time()
    mode = endpoint.fault.take(write=write)
    response = await _fault_response(mode, endpoint.fault, state, readyz=readyz)
    if response is None:
        if bearer_matches(request, endpoint.token):
            response = await handler()
        else:
            response = status_response(401, "Unauthorized", "Unauthorized")
    endpoint.record(request, response.status, mode, arrived)
    return response
