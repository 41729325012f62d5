"""``make bench``: every benchmark in turn, then one table of all their figures.

Each runs in its own process (a benchmark starts brokers and workers, and must leave nothing
behind); each writes ``bench/results/<name>.json`` and the table is read back from those.
"""

import argparse
import subprocess
import sys
import time

from bench.report import RESULTS, table
from bench.restart import BIG_STATE, PLANS

#: Every benchmark, in the order they run: ``python -m bench.<name>`` with its defaults.
BENCHMARKS = ["codec", "faust_floor", "storm", "latency", "restart", "footprint", "fleet_storm"]

#: Arguments of a full run beyond each benchmark's defaults: the restart at the issue's big
#: state too (RocksDB stores, as every worker with a data dir runs; memory replays every
#: changelog for minutes), beside the small-state cases.
FULL = {"restart": ["--cases", *PLANS, BIG_STATE, "--stores", "rocksdb"]}

#: Arguments of ``--quick``: the small storm only, shorter latency steps.
QUICK = {
    "storm": ["--errors", "20000"],
    "latency": ["--seconds", "5"],
    "restart": ["--cases", "big-state", "--entries", "100000", "--status-rows", "10000"],
    "footprint": ["--entries", "100000", "--status-rows", "10000"],
    "fleet_storm": ["--clusters", "200", "--cap", "20", "--window", "20", "--cooldown", "3"],
}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "names", nargs="*", default=BENCHMARKS, metavar="NAME",
        help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})",
    )  # fmt: skip
    parser.add_argument(
        "--quick", action="store_true",
        help="; ".join(f"{name} {' '.join(args)}" for name, args in QUICK.items()),
    )  # fmt: skip
    args = parser.parse_args()
    if unknown := sorted(set(args.names) - set(BENCHMARKS)):
        parser.error(f"no benchmark {', '.join(unknown)}: choose from {', '.join(BENCHMARKS)}")
    failed = []
    started = time.time()
    for name in args.names:
        extra = QUICK.get(name, []) if args.quick else FULL.get(name, [])
        argv = [sys.executable, "-m", f"bench.{name}", *extra]
        print(f"\n=== {' '.join(argv[1:])} ===", flush=True)
        if subprocess.call(argv) != 0:
            failed.append(name)
    fresh = [
        RESULTS / f"{name}.json"
        for name in args.names
        if (RESULTS / f"{name}.json").exists()
        and (RESULTS / f"{name}.json").stat().st_mtime >= started
    ]
    print("\n" + table(fresh))
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
