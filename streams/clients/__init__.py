"""Client library for components: emit TMC errors, follow recovery results."""

from streams.clients.emitter import DEFAULT_ERRORS_TOPIC, ErrorEmitter
from streams.clients.errors import EmitError, FollowError, SubscribeError
from streams.clients.partitioning import LIBRDKAFKA_PARTITIONER
from streams.clients.subscriber import DEFAULT_RESULTS_TOPIC, ResultFilter, ResultSubscriber
from streams.clients.tracker import RecoveryTracker

__all__ = [
    "DEFAULT_ERRORS_TOPIC",
    "DEFAULT_RESULTS_TOPIC",
    "LIBRDKAFKA_PARTITIONER",
    "EmitError",
    "ErrorEmitter",
    "FollowError",
    "RecoveryTracker",
    "ResultFilter",
    "ResultSubscriber",
    "SubscribeError",
]
