"""A worker whose only strategy does nothing, for measuring the pipeline's own latency.

``python -m bench.noop_worker -c cfg.yaml``. Every error is its own target, so each one
starts a recovery; the strategy returns at once. Bench-only: never a product strategy.
"""

import argparse
from datetime import timedelta
from pathlib import Path

from schemas.records import ErrorType, RecoveryContext, RecoveryOutcome, TMCError
from strategies.base import ExecutionContext, RecoveryStrategy
from streams.config import load_service_settings
from streams.pipeline import RecoveryService, run


class NoopFast(RecoveryStrategy):
    name = "NoopFast"
    error_types = frozenset(ErrorType)
    priority = 100
    timeout = timedelta(seconds=10)

    def target(self, error: TMCError) -> str:
        return error.event_id or error.component

    async def execute(
        self, ctx: ExecutionContext, error: TMCError, recovery: RecoveryContext
    ) -> RecoveryOutcome:
        return RecoveryOutcome(success=True, message="no-op")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-c", "--config", type=Path, required=True)
    args = parser.parse_args()
    run(RecoveryService(load_service_settings(args.config), [NoopFast()]), "warning")


if __name__ == "__main__":
    main()
