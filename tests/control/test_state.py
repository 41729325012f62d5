"""The switches as records, and the gate they make for each strategy."""

from streams.control.state import PAUSE, ControlState, Gate, Switch, hold_reason, shadow_key

ON = Switch(True, "alice", "bad deploy", "2026-12-01T15:00:00+00:00")
OFF = Switch(False, "bob", "fixed", "2026-12-01T15:10:00+00:00")


def state(*records: tuple[str, Switch | None]) -> ControlState:
    current = ControlState()
    for key, switch in records:
        current = current.apply(key, None if switch is None else switch.value())
    return current


def test_with_no_switch_set_every_strategy_acts() -> None:
    assert ControlState().gate("Sync") is Gate.ACT
    assert ControlState().view() == {"paused": False, "pause": None, "shadow": {}}


def test_a_pause_holds_every_strategy_even_a_shadowed_one() -> None:
    paused = state((shadow_key("Sync"), ON), (PAUSE, ON))
    assert paused.gate("Sync") is Gate.HOLD
    assert paused.gate("Migration") is Gate.HOLD
    assert paused.pause == ON


def test_the_latest_record_of_a_key_wins_and_a_resume_lets_work_through() -> None:
    resumed = state((PAUSE, ON), (PAUSE, OFF))
    assert resumed.gate("Sync") is Gate.ACT
    assert resumed.pause is None
    assert resumed.view()["pause"] == {"on": False, "by": "bob", "reason": "fixed", "at": OFF.at}


def test_shadow_is_per_strategy_and_switches_off_by_record_or_tombstone() -> None:
    shadowed = state((shadow_key("Sync"), ON))
    assert (shadowed.gate("Sync"), shadowed.gate("Migration")) == (Gate.SHADOW, Gate.ACT)
    assert list(shadowed.view()["shadow"]) == ["Sync"]
    assert state((shadow_key("Sync"), ON), (shadow_key("Sync"), OFF)).gate("Sync") is Gate.ACT
    assert state((shadow_key("Sync"), ON), (shadow_key("Sync"), None)).gate("Sync") is Gate.ACT


def test_flipping_one_switch_leaves_the_others_as_they_were() -> None:
    both = state((PAUSE, ON), (shadow_key("Sync"), ON), (PAUSE, OFF))
    assert both.gate("Sync") is Gate.SHADOW


def test_a_switch_round_trips_and_a_hold_names_who_and_why() -> None:
    assert Switch.decode(ON.value()) == ON
    assert hold_reason(ON) == "held: fleet paused by alice at 2026-12-01T15:00:00+00:00: bad deploy"
