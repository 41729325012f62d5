"""``make bench``: every benchmark in turn, then one table of all their figures.

Each runs in its own process (a benchmark starts brokers and workers, and must leave nothing
behind); each writes ``bench/results/<name>.json`` and the table is read back from those.
"""

import subprocess
import sys
import time

from bench.report import RESULTS, table

BENCHMARKS = ["codec", "storm", "restart"]


def main() -> int:
    failed = []
    started = time.time()
    for name in BENCHMARKS:
        print(f"\n=== bench.{name} ===", flush=True)
        if subprocess.call([sys.executable, "-m", f"bench.{name}"]) != 0:
            failed.append(name)
    fresh = [
        RESULTS / f"{name}.json"
        for name in BENCHMARKS
        if (RESULTS / f"{name}.json").exists()
        and (RESULTS / f"{name}.json").stat().st_mtime >= started
    ]
    print("\n" + table(fresh))
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
