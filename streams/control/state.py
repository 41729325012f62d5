"""The switches as records on the compacted control topic, and the gate they make.

One key per switch (``pause``, ``shadow~<strategy>``), each record the switch's whole latest
value with who flipped it, when and why. Separate keys mean flipping one never rewrites
another, so two operators on two workers cannot undo each other's change by a read-modify-
write race; compaction keeps each key's latest record, which is the switch's state.
"""

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from streams.partitioning import SEPARATOR

PAUSE = "pause"
SHADOW = f"shadow{SEPARATOR}"


def shadow_key(strategy: str) -> str:
    return f"{SHADOW}{strategy}"


@dataclass(frozen=True)
class Switch:
    """One switch's latest value: on or off, and who set it, when and why."""

    on: bool
    by: str
    reason: str
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def value(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def decode(cls, raw: bytes) -> "Switch":
        fields = json.loads(raw)
        return cls(bool(fields["on"]), str(fields["by"]), str(fields["reason"]), str(fields["at"]))


class Gate(Enum):
    """What an attempt due now may do."""

    ACT = "act"
    SHADOW = "shadow"  # plan and report, as dry-run does; change nothing
    HOLD = "hold"  # wait for the resume, recorded on the recovery


@dataclass(frozen=True)
class ControlState:
    """Every switch's latest value, by key; a switch never set is off."""

    switches: dict[str, Switch] = field(default_factory=dict)

    def apply(self, key: str, raw: bytes | None) -> "ControlState":
        """After the record ``key`` -> ``raw`` (None: a tombstone, the switch is off)."""
        switches = dict(self.switches)
        if raw is None:
            switches.pop(key, None)
        else:
            switches[key] = Switch.decode(raw)
        return replace(self, switches=switches)

    @property
    def pause(self) -> Switch | None:
        """The pause in force, or None."""
        switch = self.switches.get(PAUSE)
        return switch if switch is not None and switch.on else None

    def gate(self, strategy: str) -> Gate:
        """The pause stops everything, shadow runs included: a kill switch admits no work."""
        if self.pause is not None:
            return Gate.HOLD
        if _shadow(shadow_key(strategy), self.switches.get(shadow_key(strategy))):
            return Gate.SHADOW
        return Gate.ACT

    def view(self) -> dict[str, Any]:
        """The API's answer: the pause (with who, when, why) and the shadowed strategies."""
        pause = self.switches.get(PAUSE)
        return {
            "paused": self.pause is not None,
            "pause": None if pause is None else asdict(pause),
            "shadow": {
                k.removeprefix(SHADOW): asdict(s) for k, s in self.switches.items() if _shadow(k, s)
            },
        }


def _shadow(key: str, switch: Switch | None) -> bool:
    return key.startswith(SHADOW) and switch is not None and switch.on


def hold_reason(pause: Switch) -> str:
    """The reason on a held recovery's transition: who paused the fleet, and why."""
    return f"held: fleet paused by {pause.by} at {pause.at}: {pause.reason}"
