"""The Go design's custom-type example as a plugin: a strategy for ``CustomApplication`` errors
from ``my-application``, matched by the error's custom type (TMCError v3), never by its enum
type. It heals by a rollout restart of the application's Deployment (the pod template's
``restartedAt`` annotation, as ``kubectl rollout restart`` writes it), through the gateway.

``install_entry_point`` makes it an installed entry point for a worker subprocess."""

from datetime import timedelta
from pathlib import Path

from schemas.records import GroupVersionKind, RecoveryContext, RecoveryOutcome, TMCError
from strategies.base import ExecutionContext, RecoveryFailed, RecoveryStrategy
from strategies.gateway import ClusterGateway, GatewayError, ObjectRef
from strategies.resources import object_ref

CUSTOM_TYPE = "CustomApplication"
COMPONENT = "my-application"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
DEPLOYMENT = GroupVersionKind("v1", "Deployment", "apps")
REPO = Path(__file__).resolve().parents[2]
#: The application's Deployment, as a cluster of the simulated fleet holds it.
APP_REF = ObjectRef("apps/v1", "deployments", "my-application", "apps")
APP = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "my-application", "namespace": "apps"},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "my-application"}},
        "template": {
            "metadata": {"labels": {"app": "my-application"}},
            "spec": {"containers": [{"name": "app", "image": "my-application:1"}]},
        },
    },
}


class CustomApplicationRecovery(RecoveryStrategy):
    name = "CustomApplication"
    error_types = frozenset()
    custom_types = frozenset({CUSTOM_TYPE})
    priority = 40
    timeout = timedelta(minutes=1)

    def __init__(self, gateway: ClusterGateway) -> None:
        self._gateway = gateway

    def can_recover(self, error: TMCError) -> bool:
        """Its own application's errors that name the Deployment and its cluster."""
        return (
            super().can_recover(error)
            and error.component == COMPONENT
            and error.cluster_name is not None
            and error.resource is not None
        )

    def target(self, error: TMCError) -> str:
        assert error.resource is not None
        return f"{error.cluster_name}/{object_ref(error.resource).describe()}"

    async def execute(
        self, ctx: ExecutionContext, error: TMCError, recovery: RecoveryContext
    ) -> RecoveryOutcome:
        if error.cluster_name is None or error.resource is None:
            raise RecoveryFailed("the error names no cluster or no Deployment", retryable=False)
        cluster, ref = error.cluster_name, object_ref(error.resource)
        try:
            live = await self._gateway.get_object(cluster, ref)
            read = f"read {ref.describe()} on {cluster}"
            if ctx.dry_run:
                return RecoveryOutcome(True, "planned", (read, f"would restart {ref.describe()}"))
            template = live["spec"]["template"].setdefault("metadata", {})
            template.setdefault("annotations", {})[RESTARTED_AT] = ctx.recovery_id
            written = await self._gateway.update_object(cluster, ref, live)
        except GatewayError as exc:
            raise RecoveryFailed(f"cannot restart {ref.describe()}: {exc}") from exc
        version = written["metadata"]["resourceVersion"]
        return RecoveryOutcome(
            success=True,
            message=f"restarted {ref.describe()} on {cluster}",
            actions=(read, f"restarted {ref.describe()} (resourceVersion {version})"),
            metrics={"restarts": 1.0},
        )


def install_entry_point(folder: Path) -> str:
    """An installed distribution in ``folder`` whose ``tmc_recovery.strategies`` entry point is
    :class:`CustomApplicationRecovery`; returns the PYTHONPATH a worker subprocess needs to
    load it (``folder`` and the repository, for ``tests``)."""
    dist = folder / "tmc_custom_application-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: tmc-custom-application\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text(
        "[tmc_recovery.strategies]\n"
        f"custom-application = {__name__}:{CustomApplicationRecovery.__name__}\n"
    )
    return f"{folder}:{REPO}"
