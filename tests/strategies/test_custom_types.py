"""Custom error types (TMCError v3's ``custom_type``): how errors carry them, how the registry
matches them, and the CustomApplication plugin acting on the simulated fleet."""

import dataclasses
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

import pytest
from fastavro import schemaless_reader

from schemas.catalog import SchemaName, catalog
from schemas.codec import RecordCodec
from schemas.records import (
    BadCustomType,
    ErrorType,
    Silence,
    SilenceMatchers,
    TMCError,
    from_avro,
)
from strategies.adapters.http_gateway import HttpClusterGateway
from strategies.adapters.offline import NoFleet
from strategies.base import RecoveryStrategy
from strategies.builtin import builtin_strategies
from strategies.registry import (
    StrategyRegistry,
    StrategyRegistryError,
    embedded_strategies,
    register_strategy,
)
from strategies.settings import StrategySettings
from strategies.simulator import FleetSimulator
from tests.strategies.custom_application import (
    APP,
    APP_REF,
    COMPONENT,
    CUSTOM_TYPE,
    DEPLOYMENT,
    RESTARTED_AT,
    CustomApplicationRecovery,
)
from tests.strategies.planned import planned
from tests.strategies.scenario import DRY_RUN, RUN, attempt


@pytest.fixture(autouse=True)
def no_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("strategies.registry._embedded", {})


def custom(
    name: str = CUSTOM_TYPE, *, retryable: bool = True, component: str = COMPONENT
) -> TMCError:
    """A custom-type error about the application's Deployment on cluster east."""
    return (
        TMCError.build(name, component, "reconcile")
        .with_cluster("east", "root:tmc")
        .with_resource(DEPLOYMENT, "apps", "my-application")
        .with_retryable(retryable)
        .build()
    )


def chosen(error: TMCError, *extra: RecoveryStrategy, **settings: StrategySettings) -> str | None:
    """What a worker with the built-ins, the plugin and ``extra`` picks for ``error``."""
    strategies = [*builtin_strategies(NoFleet()), CustomApplicationRecovery(NoFleet()), *extra]
    selected = StrategyRegistry(strategies, settings).select(error)
    return None if selected is None else selected.name


# --- the error ------------------------------------------------------------------------------


def test_a_name_outside_the_enum_builds_a_custom_error_with_type_unknown() -> None:
    error = custom(retryable=False)
    assert (error.type, error.custom_type, error.type_name) == (
        ErrorType.UNKNOWN,
        CUSTOM_TYPE,
        CUSTOM_TYPE,
    )
    assert error.custom_type_problem() is None
    plain = TMCError.build(CUSTOM_TYPE, COMPONENT, "reconcile").build()
    assert plain.retryable is False  # an unknown type's default, as in the Go model
    assert plain.message == CUSTOM_TYPE


def test_an_enum_symbol_given_as_a_string_is_the_enum_type() -> None:
    error = TMCError.build("SyncFailure", "syncer", "sync").build()
    assert (error.type, error.custom_type, error.type_name) == (
        ErrorType.SYNC_FAILURE,
        None,
        "SyncFailure",
    )


@pytest.mark.parametrize("name", ["", "9lives", "has space", "x" * 101, "a/b"])
def test_a_name_that_can_be_neither_is_refused(name: str) -> None:
    with pytest.raises(BadCustomType):
        TMCError.build(name, COMPONENT, "reconcile")


def test_a_custom_type_beside_a_known_type_breaks_the_rule() -> None:
    mixed = dataclasses.replace(custom(), type=ErrorType.SYNC_FAILURE)
    assert "needs type UNKNOWN" in (mixed.custom_type_problem() or "")
    bad_name = dataclasses.replace(custom(), custom_type="SyncFailure")
    assert "is an ErrorType symbol" in (bad_name.custom_type_problem() or "")


def test_a_silence_matches_a_custom_type_and_no_other() -> None:
    """Silence v2's matcher: every custom error's type is UNKNOWN, so only this tells them apart."""
    now = datetime.now(UTC)
    quiet = Silence(
        id="sil-1",
        matchers=SilenceMatchers(cluster_name="east", custom_type=CUSTOM_TYPE),
        reason="maintenance of my-application",
        created_by="alice",
        created_at=now,
        expires_at=now + timedelta(hours=1),
    )
    assert quiet.matches(custom(), "CustomApplication", now)
    assert not quiet.matches(custom("OtherType"), "Generic", now)
    typed = TMCError.build(ErrorType.SYNC_FAILURE, "syncer", "sync").with_cluster("east").build()
    assert not quiet.matches(typed, "Sync", now)
    assert not quiet.matches(custom(), "CustomApplication", now + timedelta(hours=2))


# --- matching -------------------------------------------------------------------------------


def test_a_custom_error_goes_to_the_strategy_declaring_its_custom_type() -> None:
    assert chosen(custom()) == "CustomApplication"
    assert chosen(custom(retryable=False)) == "CustomApplication"


def test_the_plugin_s_own_check_still_applies() -> None:
    """Another component's CustomApplication error is not its: retryable, it falls to Generic."""
    assert chosen(custom(component="other-app")) == "Generic"
    assert chosen(custom(component="other-app", retryable=False)) is None


@pytest.mark.parametrize(("priority", "winner"), [(41, "Mine"), (39, "CustomApplication")])
def test_a_registered_custom_strategy_wins_when_its_priority_is_higher(
    priority: int, winner: str
) -> None:
    register_strategy(CUSTOM_TYPE, planned("Mine", set(), priority))
    (mine,) = embedded_strategies()
    assert mine.custom_types == {CUSTOM_TYPE}
    assert mine.error_types == frozenset()
    assert chosen(custom(), mine) == winner


def test_a_disabled_custom_strategy_leaves_a_retryable_error_to_generic() -> None:
    off = StrategySettings(enabled=False)
    assert chosen(custom(), CustomApplication=off) == "Generic"
    assert chosen(custom(retryable=False), CustomApplication=off) is None


def test_an_undeclared_custom_type_is_generic_s_when_retryable_else_escalated() -> None:
    assert chosen(custom("NobodysType")) == "Generic"
    assert chosen(custom("NobodysType", retryable=False)) is None


def test_a_strategy_for_unknown_never_takes_a_custom_error() -> None:
    """A custom error is matched by its custom type alone, not by its UNKNOWN type."""
    catch_unknown = planned("CatchUnknown", {ErrorType.UNKNOWN}, 99)
    assert chosen(custom("NobodysType", retryable=False), catch_unknown) is None
    assert chosen(custom(), catch_unknown) == "CustomApplication"
    unknown = TMCError.build(ErrorType.UNKNOWN, "syncer", "op").with_cluster("east").build()
    assert chosen(unknown, catch_unknown) == "CatchUnknown"


def test_a_custom_only_strategy_is_no_fallback() -> None:
    """Declaring custom types only, it never sees an ordinary error no typed strategy takes."""
    retryable_unclaimed = (
        TMCError.build(ErrorType.DATABASE, "syncer", "op")
        .with_cluster("east")
        .with_retryable(True)
        .build()
    )
    assert chosen(retryable_unclaimed) == "Generic"


def _as_a_v2_reader_sees_it(error: TMCError) -> TMCError:
    family = catalog().families[SchemaName.TMC_ERROR]
    data = RecordCodec(TMCError).encode(error)[10:]
    v2 = family.versions[1]
    datum: Any = schemaless_reader(BytesIO(data), family.latest.parsed, v2.parsed)
    return from_avro(TMCError, datum)


@pytest.mark.parametrize("retryable", [True, False])
def test_a_worker_that_reads_only_v2_never_routes_a_custom_error_wrongly(retryable: bool) -> None:
    """It sees an UNKNOWN error: Generic when retryable, else escalated, exactly what a v3 worker
    does with a custom type no strategy declares; never a typed built-in."""
    seen = _as_a_v2_reader_sees_it(custom(retryable=retryable))
    assert (seen.type, seen.custom_type) == (ErrorType.UNKNOWN, None)
    builtins = StrategyRegistry(builtin_strategies(NoFleet()))
    picked = builtins.select(seen)
    assert (picked and picked.name) == ("Generic" if retryable else None)
    assert chosen(custom("NobodysType", retryable=retryable)) == (picked and picked.name)


def test_register_strategy_takes_a_symbol_a_custom_name_or_refuses() -> None:
    strategy = planned("Both", {ErrorType.DATABASE}, 20)
    register_strategy("SyncFailure", strategy)
    register_strategy(CUSTOM_TYPE, strategy)
    assert strategy.error_types == {ErrorType.DATABASE, ErrorType.SYNC_FAILURE}
    assert strategy.custom_types == {CUSTOM_TYPE}
    assert type(strategy).custom_types == frozenset()  # the class is untouched
    with pytest.raises(StrategyRegistryError, match="cannot register 'Other'"):
        register_strategy("not a name", planned("Other", set(), 1))
    assert [s.name for s in embedded_strategies()] == ["Both"]


# --- the plugin acting on the simulated fleet ------------------------------------------------


async def test_the_plugin_restarts_the_application_through_the_gateway(
    sim: FleetSimulator, gateway: HttpClusterGateway
) -> None:
    await sim.admin.put_object("east", APP)
    strategy = CustomApplicationRecovery(gateway)
    error = custom()
    ref = "deployments.apps apps/my-application"
    assert strategy.target(error) == f"east/{ref}"

    planned_outcome = await strategy.execute(DRY_RUN, error, attempt())
    untouched = await sim.admin.get_object("east", APP_REF)
    assert RESTARTED_AT not in untouched["spec"]["template"]["metadata"].get("annotations", {})
    assert planned_outcome.actions[-1] == f"would restart {ref}"

    outcome = await strategy.execute(RUN, error, attempt())
    restarted = await sim.admin.get_object("east", APP_REF)
    assert restarted["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT] == "rec-1"
    assert outcome.success
    assert outcome.actions[-1].startswith(f"restarted {ref} (resourceVersion ")
