"""``python -m strategies.simulator --clusters 3``: run a simulated fleet until Ctrl-C/SIGTERM.

Prints the base URL, the fleet file for the adapter and the admin token for fault injection.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from schemas.errors import TmcRecoveryError
from strategies.simulator.server import FleetSimulator


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m strategies.simulator", description=__doc__)
    parser.add_argument("--clusters", type=int, default=3, help="how many clusters (default 3)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--workdir", type=Path, help="where to write fleet.yaml and tokens")
    args = parser.parse_args(argv)
    if args.clusters < 1:
        parser.error("--clusters must be at least 1")
    return args


async def _run(args: argparse.Namespace) -> None:
    names = [f"cluster-{i}" for i in range(1, args.clusters + 1)]
    async with FleetSimulator(names, host=args.host, port=args.port, workdir=args.workdir) as sim:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        print(f"fleet simulator on {sim.url}", flush=True)
        print(f"fleet file: {sim.fleet_path}", flush=True)
        print(f"admin token: {sim.admin_token}", flush=True)
        print(f"clusters: {', '.join(sim.clusters)}", flush=True)
        await stop.wait()
    print("fleet simulator stopped", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        asyncio.run(_run(args))
    except TmcRecoveryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
