"""Flipping a switch: its record on the control topic, which every worker's view reads."""

from faust.types import TopicT

from streams.control.state import Switch
from streams.out_of_band import OutOfBand


class Switchboard:
    def __init__(self, topic: TopicT, out_of_band: OutOfBand) -> None:
        self.topic = topic
        self._out_of_band = out_of_band

    async def flip(self, key: str, switch: Switch) -> None:
        """Sent and acknowledged before it returns: then every worker applies it within a
        poll of its view."""
        await self._out_of_band.send(self.topic, key.encode(), switch.value())
