"""The starting-config gate: a starting worker acts on nothing before the configuration in
force is the latest apply on the config topic.

Why: an operator who disabled a strategy with ``config apply`` must not see it act after a
restart, for the second or so the follower took to read the topic while triage already routed
with the file's configuration and the executor ran what it routed.

How: a service started after the API and before the Faust app (streams/pipeline.py's run), so
the worker joins its group, and triage, the executor and the resumed recoveries see anything,
only once the topic has been read to its end and its latest apply put in force (or refused,
leaving the file's). Meanwhile /readyz says not ready (streams/readiness.py, a hold) and the
log says what the worker waits for.

Bounded: a topic that cannot be read within ``runtime_config.start_timeout_s`` is reported at
ERROR every time that passes, and then ``runtime_config.on_timeout`` decides. ``wait`` (the
default) keeps waiting: a runtime disable is usually a safety decision, the errors wait on
their topic and lose nothing, and the control topic's pause is fail-closed the same way.
``file`` starts on the file's configuration, for a fleet that would rather recover.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from enum import Enum

from mode import Service

from streams.config import RuntimeConfigSettings
from streams.readiness import Readiness
from streams.runtime_config.follower import ConfigFollower

log = logging.getLogger(__name__)

HOLD = "the runtime configuration is read from the config topic"


class Settled(Enum):
    READ = "read"  # the topic was read to its end: its latest apply is in force, if any
    FILE = "file"  # not read in time, and on_timeout: file


async def settle(
    read: Callable[[], Awaitable[None]], settings: RuntimeConfigSettings, retry_s: float = 0.5
) -> Settled:
    """Until ``read`` has succeeded once (a failure is tried again, with backoff); each
    ``start_timeout_s`` without it is an ERROR line, then ``on_timeout`` decides."""
    reading = asyncio.ensure_future(_until_read(read, retry_s))
    waited_s = 0.0
    try:
        while True:
            done, _ = await asyncio.wait({reading}, timeout=settings.start_timeout_s)
            if done:
                reading.result()
                return Settled.READ
            waited_s += settings.start_timeout_s
            if settings.on_timeout == "file":
                log.error(
                    "config topic not read within %gs: starting on the file's configuration "
                    "(runtime_config.on_timeout: file); a strategy disabled at runtime may act "
                    "until the topic is read",
                    waited_s,
                )
                return Settled.FILE
            log.error(
                "config topic still not read after %gs: acting on nothing until it is "
                "(runtime_config.on_timeout: wait; 'file' would start on the file's configuration)",
                waited_s,
            )
    finally:
        reading.cancel()


async def _until_read(read: Callable[[], Awaitable[None]], retry_s: float) -> None:
    delay_s = retry_s
    while True:
        try:
            await read()
            return
        except Exception as exc:  # the broker is unavailable: the same as slow
            log.warning("reading the config topic failed (%s); retrying in %gs", exc, delay_s)
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, 10.0)


class StartingConfig(Service):
    """Started before the app: returns from its start once the configuration is settled."""

    def __init__(
        self, follower: ConfigFollower, readiness: Readiness, settings: RuntimeConfigSettings
    ) -> None:
        super().__init__()
        self.follower, self.readiness, self.settings = follower, readiness, settings

    async def on_start(self) -> None:
        self.readiness.hold(HOLD)
        settled = await settle(self.follower.read_once, self.settings)
        if settled is Settled.READ:
            applied = self.follower.in_force
            log.info(
                "starting configuration read: %s",
                "no apply on the config topic, the file's is in force"
                if applied is None
                else f"the apply by {applied.by} at {applied.at} is in force",
            )
        self.readiness.release(HOLD)
