"""How many clusters may be under recovery at once: a count or a share of the inventory.

Written like NodeHealthCheck's maxUnhealthy ("5" or "20%"). A share rounds down, as
Kubernetes' scaled int-or-percent does for a maximum, but never below one: a cap that
forbade every recovery would be a pause, and the pause has its own switch."""

import math
import re
from dataclasses import dataclass

_CAP = re.compile(r"^\s*(\d+)\s*(%?)\s*$")


class BadCap(ValueError):
    """A cap that is neither a count nor a percentage (reason code ``bad_cap``)."""

    reason = "bad_cap"


@dataclass(frozen=True)
class Cap:
    value: int
    percent: bool

    @classmethod
    def parse(cls, text: str | int) -> "Cap":
        found = _CAP.match(str(text))
        if found is None:
            raise BadCap(f"cap {text!r} is neither a count (5) nor a percentage (20%)")
        value, percent = int(found[1]), bool(found[2])
        if percent and value > 100:
            raise BadCap(f"cap {text!r} is over 100%")
        return cls(value, percent)

    def of(self, total: int) -> int:
        """The cap for ``total`` clusters (the inventory, or one logical cluster's part)."""
        if not self.percent:
            return max(1, self.value)
        return max(1, math.floor(total * self.value / 100))

    def __str__(self) -> str:
        return f"{self.value}%" if self.percent else str(self.value)
