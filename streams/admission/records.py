"""The admission topics' records, as JSON (internal topics, no public contract).

An ``Ask`` travels on the admission topic, every one under one key so that one partition,
and so one worker, sees them all in order. The owner's answers are the grants topic
(compacted): ``<cluster>~<recovery id>`` -> a ``Grant`` (tombstoned at the release) and
``STORM_KEY`` -> the storm's state. That topic is also the owner's whole memory: a new
owner rebuilds its book by reading it (book.py)."""

import json
from dataclasses import asdict, dataclass
from enum import Enum

from streams.partitioning import SEPARATOR

ADMISSION_KEY = b"admission"
STORM_KEY = f"{SEPARATOR}storm"


class Op(Enum):
    ASK = "ask"
    RELEASE = "release"


class Verdict(Enum):
    GRANTED = "granted"
    WAITING = "waiting"
    ESCALATE = "escalate"  # the recovery that tipped a storm carries its one escalation


@dataclass(frozen=True)
class Ask:
    """Leave for ``recovery_id`` to act on ``cluster``; ``resumed``: it acted before (a
    crash or a rebalance), so it is under recovery already and is granted over the cap."""

    op: Op
    recovery_id: str
    cluster: str
    logical_cluster: str
    strategy: str
    error_type: str
    resumed: bool = False

    @property
    def key(self) -> str:
        return grant_key(self.cluster, self.recovery_id)

    def encode(self) -> bytes:
        return json.dumps({**asdict(self), "op": self.op.value}, sort_keys=True).encode()

    @classmethod
    def decode(cls, raw: bytes) -> "Ask":
        fields = json.loads(raw)
        return cls(**{**fields, "op": Op(fields["op"])})


@dataclass(frozen=True)
class Grant:
    """The owner's answer to an ask, with the ask (a new owner's book needs it) and its
    place in line (``seq``, the ask's offset)."""

    ask: Ask
    verdict: Verdict
    reason: str
    seq: int

    def encode(self) -> bytes:
        fields = {"ask": json.loads(self.ask.encode()), "verdict": self.verdict.value}
        return json.dumps({**fields, "reason": self.reason, "seq": self.seq}).encode()

    @classmethod
    def decode(cls, raw: bytes) -> "Grant":
        fields = json.loads(raw)
        ask = Ask.decode(json.dumps(fields["ask"]).encode())
        return cls(ask, Verdict(fields["verdict"]), str(fields["reason"]), int(fields["seq"]))


@dataclass(frozen=True)
class Storm:
    on: bool
    since: float  # unix seconds: when it began (on) or ended (off)
    reason: str

    def encode(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def decode(cls, raw: bytes) -> "Storm":
        fields = json.loads(raw)
        return cls(bool(fields["on"]), float(fields["since"]), str(fields["reason"]))


def grant_key(cluster: str, recovery_id: str) -> str:
    """Starts with its cluster, as every compacted key of the pipeline does."""
    return f"{cluster}{SEPARATOR}{recovery_id}"
