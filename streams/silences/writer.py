"""Setting, ending and removing a silence: records on the silences topic, which every
worker's view reads."""

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from faust.types import TopicT

from schemas.codec import RecordCodec
from schemas.records import Silence
from streams.out_of_band import OutOfBand
from streams.silences.state import SilenceSet

log = logging.getLogger(__name__)


class SilenceWriter:
    def __init__(self, topic: TopicT, out_of_band: OutOfBand) -> None:
        self.topic = topic
        self._out_of_band = out_of_band
        self._codec = RecordCodec(Silence)

    async def put(self, silence: Silence) -> None:
        """Sent and acknowledged before it returns: every worker applies it within a poll."""
        await self._out_of_band.send(self.topic, silence.id.encode(), self._codec.encode(silence))

    async def expire(self, silence: Silence, now: datetime) -> Silence:
        """End ``silence`` at ``now`` (kept, as expired, for the listing); one that has
        already ended is left as it is."""
        if silence.expires_at <= now:
            return silence
        ended = replace(silence, expires_at=now, starts_at=min(silence.starts_at, now))
        await self.put(ended)
        return ended

    async def sweep(self, state: SilenceSet, now: datetime, retention: timedelta) -> None:
        """Tombstones for the silences that ended more than ``retention`` ago; compaction then
        forgets them. Idempotent, so run by the group's leader alone, and again next time if
        a send failed."""
        for silence in state.ended(now, retention):
            await self._out_of_band.send(self.topic, silence.id.encode(), None)
            log.info("silence %s removed, %s after it ended", silence.id, retention)
