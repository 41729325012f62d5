"""Flipping a switch: its record on the control topic, which every worker's view reads."""

from faust.types import TopicT

from streams.control.state import Switch


class Switchboard:
    def __init__(self, topic: TopicT) -> None:
        self.topic = topic

    async def flip(self, key: str, switch: Switch) -> None:
        """Sent and acknowledged before it returns: then every worker applies it within a
        poll of its view."""
        sent = await self.topic.send(key=key.encode(), value=switch.value(), force=True)
        await sent
