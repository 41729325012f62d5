"""/recoveries filters, and pages merged from several workers' shares."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from schemas.records import ErrorType, RecoveryContext, RecoveryResult, RecoveryState, TMCError
from streams.api.exceptions import BadRequest
from streams.api.query import RecoveryQuery, encode_cursor
from streams.testing.harness import unreachable

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)


def row(cluster: str, n: int, **changes: object) -> RecoveryResult:
    error = unreachable(cluster)
    base = RecoveryResult(
        id=f"ClusterConnectivity-{n:022x}",
        target=cluster,
        error=error,
        strategy="ClusterConnectivity",
        context=RecoveryContext(attempt=1, max_attempts=3, cluster_name=cluster),
        state=RecoveryState.COMPLETED,
        start_time=T0 + timedelta(minutes=n),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def pages(shares: list[list[RecoveryResult]], **params: str) -> list[list[str]]:
    """Every page of the query over ``shares``, as a fleet-wide answer pages them."""
    out, cursor = [], None
    while True:
        query = RecoveryQuery.parse({**params, **({"cursor": cursor} if cursor else {})})
        answer = query.merge(
            query.page(r for r in share if query.wants_key(r.target, r.id)) for share in shares
        )
        out.append([view["id"] for view in answer["recoveries"]])
        cursor = answer["next"]
        if cursor is None:
            return out


def test_pages_from_two_shares_hold_every_row_once_in_key_order() -> None:
    first = [row("edge-1", n) for n in (1, 4, 5, 6)]
    second = [row("edge-2", n) for n in (2, 3)] + [row("edge-0", 7)]
    got = pages([first, second], limit="3")
    ordered = sorted(first + second, key=lambda r: (r.target, r.id))
    assert got == [[r.id for r in ordered[i : i + 3]] for i in range(0, 7, 3)]


def test_a_page_that_ends_exactly_at_the_last_row_has_no_cursor() -> None:
    assert pages([[row("edge-1", 1), row("edge-1", 2)]], limit="2") == [
        [row("edge-1", 1).id, row("edge-1", 2).id]
    ]


def test_filters() -> None:
    escalated = row("edge-1", 1, state=RecoveryState.ESCALATED, strategy="none")
    late = row("edge-2", 9)
    other = dataclasses.replace(
        row("edge-3", 3),
        error=dataclasses.replace(unreachable("edge-3"), logical_cluster="root:other"),
    )
    merged = row("edge-4", 4, merged_error_ids=("e-merged",))
    rows = [escalated, late, other, merged]

    def ids(**params: str) -> set[str]:
        query = RecoveryQuery.parse(params)
        return {r.id for r in rows if query.wants_key(r.target, r.id) and query.matches(r)}

    assert ids(state="Escalated") == ids(strategy="none") == {escalated.id}
    assert ids(cluster="edge-2") == {late.id}
    assert ids(logical_cluster="root:other") == {other.id}
    assert ids(since=(T0 + timedelta(minutes=5)).isoformat()) == {late.id}
    assert merged.error.event_id is not None
    assert ids(event_id="e-merged") == ids(event_id=merged.error.event_id) == {merged.id}
    assert ids(error_type=ErrorType.CLUSTER_UNREACHABLE.value) == {r.id for r in rows}
    assert ids(error_type=ErrorType.SYNC_FAILURE.value) == set()
    custom = row(
        "edge-5", 5, error=TMCError.build("CustomApplication", "my-application", "run").build()
    )
    assert RecoveryQuery.parse({"error_type": "CustomApplication"}).matches(custom)
    assert not RecoveryQuery.parse({"error_type": "UNKNOWN"}).matches(custom)
    assert ids(recovery_id=late.id) == {late.id}
    # Past the ids a row keeps: the recoveries triage remembers the event going to.
    beyond = RecoveryQuery.parse({"event_id": "e-250th"})
    assert [r.id for r in rows if beyond.matches(r, joined={merged.id})] == [merged.id]
    assert [r.id for r in rows if beyond.matches(r)] == []


def test_a_query_asks_a_peer_the_same_query() -> None:
    params = {
        "cluster": "edge-1",
        "state": "InProgress",
        "since": T0.isoformat(),
        "cursor": encode_cursor(("edge-1", "x")),
        "limit": "7",
    }
    query = RecoveryQuery.parse(params)
    assert RecoveryQuery.parse(query.params()) == query


@pytest.mark.parametrize(
    ("name", "value"),
    [("state", "Done"), ("since", "yesterday"), ("limit", "0"), ("limit", "x"), ("cursor", "%%")],
)
def test_a_bad_parameter_is_a_bad_request_naming_it(name: str, value: str) -> None:
    with pytest.raises(BadRequest, match=name):
        RecoveryQuery.parse({name: value})
