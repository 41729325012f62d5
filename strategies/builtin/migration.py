"""Migration: heals a migration that failed or timed out half-way (priority 85, 10 min).

The error names the Migration (context ``migration``, or a Migration resource) in its
logical cluster; errors about one migration merge into one recovery. An attempt reads
it; a migration already Completed or RolledBack needs nothing. Otherwise it checks the
prerequisites (a checkpoint to resume from) and probes the source and target clusters.
With a healthy target it resumes from the checkpoint and verifies the migration
completed. With a target that cannot recover it rolls back to the source: a destructive
action (``Action(destructive=True)``), which may wait for an operator's approval. A rollback
that fails is retried (the source may come back); after the last attempt the executor
escalates with the seed's words, "Migration recovery failed after 3 attempts: rollback
required". Each request carries an id of its own (recovery, attempt), so a repeated one is
a new spec for the controller, and its outcome is read only once the controller has acted
on it (``status.observedGeneration``); one that has not acted in time is retried.
"""

from __future__ import annotations

from datetime import timedelta

from schemas.records import ErrorType, RecoveryContext, RecoveryOutcome, TMCError
from strategies.base import Action, ExecutionContext, FaultCheck
from strategies.builtin.kinds import WorkspaceObjectStrategy
from strategies.builtin.polling import PATIENT, Checks
from strategies.gateway import ClusterGateway, ClusterUnreachable, Migration
from strategies.journal import Journal, gateway_failures

_DONE = frozenset({"Completed", "RolledBack"})


class MigrationRecovery(WorkspaceObjectStrategy):
    name = "Migration"
    kind = "Migration"
    error_types = frozenset({ErrorType.MIGRATION_FAILURE, ErrorType.MIGRATION_TIMEOUT})
    priority = 85
    timeout = timedelta(minutes=10)

    def __init__(self, gateway: ClusterGateway, *, checks: Checks = PATIENT) -> None:
        super().__init__(gateway)
        self._checks = checks

    async def verify(self, error: TMCError) -> FaultCheck:
        """Still neither Completed nor RolledBack."""
        logical, name = self.named(error)
        with gateway_failures(Journal("re-verify"), f"re-verifying migration {name}"):
            migration = await self._gateway.get_migration(logical, name)
        return FaultCheck(migration.phase not in _DONE, f"migration {name}: {_describe(migration)}")

    async def execute(
        self, ctx: ExecutionContext, error: TMCError, recovery: RecoveryContext
    ) -> RecoveryOutcome:
        logical, name = self.named(error)
        journal = Journal(ctx.recovery_id)
        with gateway_failures(journal, f"recovering migration {name}"):
            migration = await self._gateway.get_migration(logical, name)
            journal.did(f"read migration {name}: {_describe(migration)}")
            if migration.phase in _DONE:
                return journal.healed(f"migration {name} is already {migration.phase}")
            if migration.checkpoint is None:
                raise journal.failed(
                    f"migration {name} has no checkpoint to resume from",
                    retryable=False,
                    next_steps=(f"restart migration {name} from the beginning",),
                )
            source_ok = await self._healthy(journal, "source", migration.source)
            target_ok = await self._healthy(journal, "target", migration.target)
            if ctx.dry_run:
                step = (
                    f"resume migration {name} from checkpoint {migration.checkpoint}"
                    if target_ok
                    else f"roll migration {name} back to {migration.source}"
                )
                return journal.planned(f"migration {name}: {_describe(migration)}", [step])
            request = f"{ctx.recovery_id}-{recovery.attempt}"
            if target_ok:
                written = await self._gateway.resume_migration(
                    logical, name, migration.checkpoint, f"{request}-resume"
                )
                journal.did(f"asked migration {name} to resume from {migration.checkpoint}")
                resumed = await self._settled(journal, logical, written)
                if resumed.phase == "Completed":
                    return journal.healed(
                        f"migration {name} completed from checkpoint {migration.checkpoint}",
                        (f"retire the workload's copy on {migration.source}",),
                    )
            ctx.before(
                Action(
                    f"roll migration {name} back to {migration.source}",
                    self.target(error),
                    f"resuming onto {migration.target} did not complete"
                    if target_ok
                    else f"target cluster {migration.target} is not ready",
                    destructive=True,
                ),
                journal.actions,
            )
            written = await self._gateway.rollback_migration(logical, name, f"{request}-rollback")
            journal.did(f"asked migration {name} to roll back to {migration.source}")
            rolled = await self._settled(journal, logical, written)
        if rolled.phase == "RolledBack":
            return journal.healed(
                f"migration {name} rolled back to {migration.source}: target "
                f"{migration.target} could not take it",
                (f"plan migration {name} again once {migration.target} is healthy",),
            )
        raise journal.failed(
            f"rollback required ({rolled.message})",
            retryable=True,
            next_steps=(
                f"roll migration {name} back by hand: the workload is split between "
                f"{migration.source} and {migration.target}",
                f"bring {migration.source} back first: it is "
                f"{'healthy' if source_ok else 'not ready'}",
            ),
        )

    async def _settled(self, journal: Journal, logical: str, written: Migration) -> Migration:
        """The migration once its controller has acted on our request; retried if it has not
        within the checks (never read as a verdict before then)."""
        migration = written
        if not migration.settled:
            migration = await self._checks.until(
                lambda: self._gateway.get_migration(logical, written.name),
                lambda read: read.settled,
                journal,
                "status_checks",
            )
        if migration.settled:
            journal.did(f"migration {migration.name} now: {_describe(migration)}")
            return migration
        raise journal.failed(
            f"the migration controller has not acted on the request for {migration.name} yet",
            retryable=True,
        )

    async def _healthy(self, journal: Journal, role: str, cluster: str) -> bool:
        try:
            probe = await self._gateway.probe(cluster)
        except ClusterUnreachable as exc:
            journal.did(f"probed {role} cluster {cluster}: unreachable ({exc.detail})")
            return False
        journal.did(f"probed {role} cluster {cluster}: {probe.summary()}")
        return probe.healthy


def _describe(migration: Migration) -> str:
    checkpoint = migration.checkpoint or "none"
    message = f": {migration.message}" if migration.message else ""
    return (
        f"{migration.source} -> {migration.target}, phase {migration.phase}, "
        f"checkpoint {checkpoint}{message}"
    )
