"""The fixture's apiservers authenticate and authorize like real ones, and are isolated."""

import asyncio
from typing import Any

import aiohttp

from tests.kube.cluster import USERS, Cluster, Fleet

RBAC = "/apis/rbac.authorization.k8s.io/v1"


async def may(session: aiohttp.ClientSession, verb: str, resource: str, namespace: str) -> bool:
    """The caller's own answer from a SelfSubjectAccessReview."""
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {
            "resourceAttributes": {"verb": verb, "resource": resource, "namespace": namespace}
        },
    }
    path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    async with session.post(path, json=review) as response:
        assert response.status == 201, await response.text()
        return bool((await response.json())["status"]["allowed"])


async def until_may(
    session: aiohttp.ClientSession, namespace: str, allowed: bool, within_s: float = 30
) -> None:
    """The RBAC authorizer reads bindings from the apiserver's informer cache, so a grant or a
    revocation shows once its watch event arrives: at once on a quiet machine, a moment later
    under load (a review right after a delete, beside a busy worker, still said allowed)."""
    async with asyncio.timeout(within_s):
        while await may(session, "get", "configmaps", namespace) != allowed:  # noqa: ASYNC110 - no event to await
            await asyncio.sleep(0.1)


async def create(cluster: Cluster, path: str, body: dict[str, Any]) -> dict[str, Any]:
    async with cluster.session() as session, session.post(path, json=body) as response:
        assert response.status == 201, await response.text()
        created: dict[str, Any] = await response.json()
        return created


async def test_access_review_flips_when_the_role_binding_goes(kube_fleet: Fleet) -> None:
    cluster = kube_fleet.clusters[0]
    namespace = await cluster.fresh_namespace()
    user = USERS[0]
    rules = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]
    role = {"metadata": {"name": "reader"}, "rules": rules}
    binding = {
        "metadata": {"name": "reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    }
    await create(cluster, f"{RBAC}/namespaces/{namespace}/roles", role)
    async with cluster.session(cluster.tokens[user]) as session:
        assert not await may(session, "get", "configmaps", namespace)
        await create(cluster, f"{RBAC}/namespaces/{namespace}/rolebindings", binding)
        await until_may(session, namespace, allowed=True)
        async with cluster.session() as admin:
            path = f"{RBAC}/namespaces/{namespace}/rolebindings/reader"
            async with admin.delete(path) as response:
                assert response.status == 200
        # Still authenticated, no longer allowed.
        await until_may(session, namespace, allowed=False)
        async with session.get(f"/api/v1/namespaces/{namespace}/configmaps") as response:
            forbidden = await response.json()
    assert response.status == 403
    assert forbidden["reason"] == "Forbidden"


async def test_a_bad_token_is_a_401_with_a_status_body(kube_fleet: Fleet) -> None:
    cluster = kube_fleet.clusters[0]
    async with cluster.session("not-a-token") as session, session.get("/api") as response:
        status = await response.json()
    assert response.status == 401
    assert (status["kind"], status["reason"]) == ("Status", "Unauthorized")


async def test_a_token_request_mints_a_working_service_account_token(kube_fleet: Fleet) -> None:
    cluster = kube_fleet.clusters[0]
    namespace = await cluster.fresh_namespace()
    base = f"/api/v1/namespaces/{namespace}/serviceaccounts"
    await create(cluster, base, {"metadata": {"name": "syncer"}})
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}
    minted = await create(cluster, f"{base}/syncer/token", request)
    token = minted["status"]["token"]
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    path = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
    async with cluster.session(token) as session, session.post(path, json=review) as response:
        assert response.status == 201
        who = (await response.json())["status"]["userInfo"]["username"]
    assert who == f"system:serviceaccount:{namespace}:syncer"


async def test_clusters_are_isolated(kube_fleet: Fleet) -> None:
    one, two = kube_fleet.clusters
    namespace = await one.fresh_namespace()
    body = {"metadata": {"name": "only-here"}, "data": {"k": "v"}}
    await create(one, f"/api/v1/namespaces/{namespace}/configmaps", body)
    async with two.session() as session:
        path = f"/api/v1/namespaces/{namespace}/configmaps/only-here"
        async with session.get(path) as response:
            assert response.status == 404
    # One cluster's credentials mean nothing to another.
    async with two.session(one.admin_token) as session, session.get("/api") as response:
        assert response.status == 401
