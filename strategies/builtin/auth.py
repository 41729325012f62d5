"""ClusterAuth: heals "cluster X refused our credentials" (the seed's strategy, priority 90, 3 min).

The usual cause is a token rotated on disk (a projected service-account token, a cloud
login) while our connection still presents the old one. An attempt re-reads the
credentials (token file, env or exec plugin), verifies RBAC with a SelfSubjectAccessReview
for what the failing component did (itself an authenticated call, so a refused token shows
here too), and records the cluster Ready on its SyncTarget. A token refused after the
refresh with nothing new to read, or RBAC that denies, cannot be fixed by retrying: the
failure says what an operator must do.
"""

from __future__ import annotations

from datetime import timedelta

from schemas.records import ErrorType, RecoveryContext, RecoveryOutcome, TMCError
from strategies.base import ExecutionContext, RecoveryFailed
from strategies.builtin.kinds import ClusterStrategy
from strategies.gateway import ClusterHealth, Credentials, Unauthorized
from strategies.journal import Journal, gateway_failures
from strategies.resources import object_ref


def _access(error: TMCError) -> tuple[str, str, str, str | None]:
    """The verb, resource, group and namespace to review: the failing operation's, if known."""
    if error.resource is None:
        return "list", "namespaces", "", None
    ref = object_ref(error.resource)
    verb = error.context.get("verb", "get")
    return verb, ref.resource, error.resource.gvk.group, ref.namespace


class ClusterAuthRecovery(ClusterStrategy):
    name = "ClusterAuth"
    error_types = frozenset({ErrorType.CLUSTER_AUTHENTICATION})
    priority = 90
    timeout = timedelta(minutes=3)

    async def execute(
        self, ctx: ExecutionContext, error: TMCError, recovery: RecoveryContext
    ) -> RecoveryOutcome:
        cluster = self.cluster_of(error)
        journal = Journal(ctx.recovery_id)
        verb, resource, group, namespace = _access(error)
        can_i = f"{verb} {resource}" + (f".{group}" if group else "")
        if ctx.dry_run:
            return journal.planned(
                f"cluster {cluster} refused credentials ({error.message})",
                [
                    f"re-read the credentials of cluster {cluster}",
                    f"review access: can tmc-recovery {can_i} on cluster {cluster}",
                    f"record Ready=True (CredentialsRefreshed) for cluster {cluster}",
                ],
            )
        with gateway_failures(journal, f"refreshing the credentials of cluster {cluster}"):
            credentials = await self._gateway.refresh_credentials(cluster)
        journal.did(_refreshed(cluster, credentials))
        journal.metrics["credentials_rotated"] = float(credentials.rotated)
        try:
            with gateway_failures(journal, f"reviewing access on cluster {cluster}"):
                review = await self._gateway.review_access(
                    cluster, verb, resource, group, namespace
                )
        except RecoveryFailed as failed:
            if isinstance(failed.__cause__, Unauthorized) and credentials.rotated:
                raise journal.failed(str(failed), retryable=True) from failed
            raise
        journal.count("access_reviews")
        journal.did(
            f"access review on cluster {cluster} (authenticated): can {can_i}: "
            f"{'yes' if review.allowed else 'no'}"
            + (f" ({review.reason})" if review.reason else "")
        )
        if not review.allowed:
            raise journal.failed(
                f"cluster {cluster} accepts our credentials but RBAC denies {can_i}",
                retryable=False,
                next_steps=(
                    f"grant tmc-recovery {can_i} on cluster {cluster} (a ClusterRoleBinding)",
                    f"check with: kubectl auth can-i {verb} {resource} --as=<tmc-recovery's user>",
                ),
            )
        health = ClusterHealth(True, "CredentialsRefreshed", f"access review allowed {can_i}")
        with gateway_failures(journal, f"recording the health of cluster {cluster}"):
            await self._gateway.record_health(cluster, health)
        journal.did(f"recorded Ready=True (CredentialsRefreshed) for cluster {cluster}")
        return journal.healed(
            f"cluster {cluster} accepts our credentials and RBAC allows {can_i}",
            (f"retry {error.component}'s {error.operation} on cluster {cluster}",),
        )


def _refreshed(cluster: str, credentials: Credentials) -> str:
    change = "a rotated token" if credentials.rotated else "the same token"
    return (
        f"re-read the credentials of cluster {cluster} from {credentials.source}: {change} "
        f"(fingerprint {credentials.fingerprint})"
    )
