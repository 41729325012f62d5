"""CPU time of a benchmark's subprocess: a figure a busy machine disturbs less than wall time
(other engineers' load slows a run down but costs the measured process no CPU)."""

import os
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
