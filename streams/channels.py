"""The Faust view of every topic: raw bytes keys and values, encoded by schemas/ codecs.

Keys are the cluster name in UTF-8 (the component when there is none), hashed by the
producer's murmur2 partitioner, so a cluster's records land on the same partition number
of every co-partitioned topic.
"""

from dataclasses import dataclass

import faust
from faust.types import TopicT

from streams.config import TopicSettings


@dataclass(frozen=True)
class Channels:
    errors: TopicT
    triage: TopicT
    dlq: TopicT
    results: TopicT
    merges: TopicT
    escalations: TopicT
    events: TopicT
    requests: dict[str, TopicT]

    @classmethod
    def declare(cls, app: faust.App, topics: TopicSettings, strategies: list[str]) -> "Channels":
        def topic(name: str) -> TopicT:
            return app.topic(name, key_type=bytes, value_type=bytes, partitions=topics.partitions)

        return cls(
            errors=topic(topics.errors),
            triage=topic(topics.triage),
            dlq=topic(topics.dlq),
            results=topic(topics.results),
            merges=topic(topics.merges),
            escalations=topic(topics.escalations),
            events=topic(topics.events),
            requests={name: topic(topics.requests(name)) for name in strategies},
        )
