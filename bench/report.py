"""One shape for every benchmark's figures: ours beside the raw baseline from the same run.

Each benchmark writes ``bench/results/<name>.json`` through :func:`write`, so ``make bench``
can print one table for all of them and a later run can be compared with this one.
"""

import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Figure:
    """One measurement. ``higher_is_better`` says which way the ratio should move."""

    what: str
    ours: float
    baseline: float
    unit: str
    higher_is_better: bool = True

    @property
    def ratio(self) -> float:
        """Ours relative to the baseline: above 1 is better than raw, either way round."""
        if self.higher_is_better:
            return self.ours / self.baseline if self.baseline else float("nan")
        return self.baseline / self.ours if self.ours else float("nan")


def write(name: str, figures: list[Figure], details: dict[str, Any] | None = None) -> Path:
    """Save the figures with what produced them and on which machine; ``details`` holds a
    benchmark's own raw data (runs, settings) beside them. Every benchmark module is
    ``bench.<name>``, so the command is that module with this process's arguments."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {
        "benchmark": name,
        "command": " ".join([f"python -m bench.{name}", *sys.argv[1:]]),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0],
                    "platform": platform.platform()},
        "figures": [{**asdict(f), "ratio": f.ratio} for f in figures],
        "details": details or {},
    }  # fmt: skip
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def table(paths: list[Path]) -> str:
    """The figures of several result files as one aligned text table."""
    rows = [("benchmark", "figure", "ours", "raw baseline", "unit", "ratio")]
    for path in paths:
        data = json.loads(path.read_text())
        for f in data["figures"]:
            rows.append(
                (data["benchmark"], f["what"], f"{f['ours']:,.2f}", f"{f['baseline']:,.2f}",
                 f["unit"], f"{f['ratio']:.2f}x")
            )  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )
