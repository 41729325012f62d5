"""The pure rules of admission: caps as counts or shares, the storm window, the book."""

import pytest
from pydantic import ValidationError

from streams.admission.book import STORM_REASON, GrantBook, Rules
from streams.admission.caps import BadCap, Cap
from streams.admission.records import Ask, Grant, Op, Storm, Verdict
from streams.admission.storm import StormWindow
from streams.config import AdmissionSettings

UNREACHABLE = "ClusterUnreachable"


@pytest.mark.parametrize(
    ("text", "total", "cap"),
    [("5", 20, 5), ("20%", 20, 4), ("25%", 10, 2), ("1%", 20, 1), ("0", 20, 1), ("100%", 7, 7)],
)
def test_a_cap_is_a_count_or_a_share_rounded_down_never_below_one(
    text: str, total: int, cap: int
) -> None:
    assert Cap.parse(text).of(total) == cap
    assert str(Cap.parse(text)) == text


@pytest.mark.parametrize("text", ["", "five", "-1", "20 %%", "101%", "2.5"])
def test_a_bad_cap_is_refused(text: str) -> None:
    with pytest.raises(BadCap):
        Cap.parse(text)


def test_the_storm_window_counts_inventory_clusters_once_and_cools_down() -> None:
    window = StormWindow({f"c{i}" for i in range(10)}, 0.5, window_s=60, cooldown_s=30)
    for i in range(4):
        window.report(f"c{i}", now=0)
        window.report(f"c{i}", now=1)  # a repeat counts once
    window.report("stranger", now=1)  # not in the inventory: never counted
    assert (window.share(1), window.engages(1)) == (0.4, False)
    window.report("c4", now=2)
    assert window.engages(2)
    assert not window.engages(3), "engages once"
    assert not window.ends(59), "still at 50% within the window"
    assert not window.ends(70), "below now, but the cooldown only starts"
    assert not window.ends(99)
    assert window.ends(100)
    assert window.on_since is None


def test_the_cooldown_starts_again_when_the_share_climbs_back() -> None:
    window = StormWindow({"a", "b"}, 0.5, window_s=10, cooldown_s=10)
    window.report("a", now=0)
    assert window.engages(0)
    assert not window.ends(11)  # calm from 11
    window.report("b", now=15)
    assert not window.ends(15), "back above: calm forgotten"
    assert not window.ends(26)  # calm again from 26
    assert window.ends(36)


def rules(clusters: int = 20, cap: str = "3", per_lc: str = "100%") -> Rules:
    inventory = {f"c{i}": ("root:prod" if i % 2 else "root:dev") for i in range(clusters)}
    return Rules(inventory, Cap.parse(cap), Cap.parse(per_lc), {UNREACHABLE}, {"Connectivity"})


def book(**kwargs: object) -> GrantBook:
    made = rules(**kwargs)  # type: ignore[arg-type]
    return GrantBook(made, StormWindow(made.inventory, 0.5, 60, 30))


def ask(n: int, strategy: str = "Sync", error: str = "SyncFailure", **kw: object) -> Ask:
    lc = "root:prod" if n % 2 else "root:dev"
    return Ask(Op.ASK, f"r{n}", f"c{n}", lc, strategy, error, **kw)  # type: ignore[arg-type]


def verdicts(grants: list[Grant]) -> list[tuple[str, Verdict]]:
    return [(g.ask.recovery_id, g.verdict) for g in grants]


def test_the_fleet_cap_counts_clusters_and_the_line_moves_in_order() -> None:
    b = book(cap="3")
    answers = [b.ask(ask(n), seq=n, now=0).grants[0] for n in range(5)]
    assert [a.verdict for a in answers] == [Verdict.GRANTED] * 3 + [Verdict.WAITING] * 2
    assert answers[3].reason == "fleet cap 3/3 clusters under recovery"
    same_cluster = Ask(Op.ASK, "r0b", "c0", "root:dev", "Other", "SyncFailure")
    assert verdicts(b.ask(same_cluster, seq=9, now=0).grants) == [("r0b", Verdict.GRANTED)]
    assert b.ask(ask(3), seq=10, now=0).grants == [], "an ask seen before changes nothing"
    released = b.release(ask(1).key)
    assert released.released == [ask(1).key]
    assert verdicts(released.grants) == [("r3", Verdict.GRANTED)], "the oldest waiting first"
    assert b.release("nobody~r").released == []
    assert b.under_recovery() == {"c0", "c2", "c3"}


def test_the_logical_cluster_cap_lets_other_logical_clusters_by() -> None:
    b = book(cap="10", per_lc="10%")  # 10 clusters each: 1 at a time per logical cluster
    got = {n: b.ask(ask(n), seq=n, now=0).grants[0] for n in (1, 3, 2)}
    assert got[1].verdict is Verdict.GRANTED
    assert got[3].verdict is Verdict.WAITING
    assert got[3].reason == "logical cluster cap 1/1 clusters of root:prod under recovery"
    assert got[2].verdict is Verdict.GRANTED, "root:dev has its own cap"
    assert verdicts(b.release(ask(2).key).grants) == [], "root:prod still full"
    assert verdicts(b.release(ask(1).key).grants) == [("r3", Verdict.GRANTED)]


def test_a_resumed_recovery_is_granted_over_the_cap() -> None:
    b = book(cap="1")
    b.ask(ask(0), seq=0, now=0)
    resumed = b.ask(ask(1, resumed=True), seq=1, now=0).grants[0]
    assert resumed.verdict is Verdict.GRANTED
    assert b.under_recovery() == {"c0", "c1"}


def test_a_storm_escalates_once_holds_disruptive_recoveries_and_ends_after_the_cooldown() -> None:
    b = book(cap="3")
    first = [b.ask(ask(n, "Connectivity", UNREACHABLE), seq=n, now=n) for n in range(10)]
    tipping = first[9]
    assert [c.storm is not None for c in first] == [False] * 9 + [True]
    assert isinstance(tipping.storm, Storm)
    assert tipping.storm.on
    (escalation,) = tipping.grants
    assert escalation.verdict is Verdict.ESCALATE
    assert escalation.reason.startswith(f"{STORM_REASON}: 10/20 clusters (50%) unreachable")
    later = b.ask(ask(10, "Connectivity", UNREACHABLE), seq=10, now=10)
    assert later.storm is None, "one escalation per storm"
    assert later.grants[0].verdict is Verdict.WAITING
    assert later.grants[0].reason.startswith("storm mode: ")
    other = b.ask(ask(11, "Sync"), seq=11, now=10).grants[0]
    assert other.verdict is Verdict.WAITING, "not disruptive, but the fleet cap is full"
    assert other.reason.startswith("fleet cap")
    assert b.tick(60).storm is None, "the window still holds the reports"
    assert b.tick(75).storm is None, "below the threshold: the cooldown starts"
    ended = b.tick(105)
    assert ended.storm is not None
    assert not ended.storm.on
    assert ended.grants == [], "the cap is still full (3 granted before the storm)"
    for n in range(3):
        b.release(ask(n).key)
    assert [g.ask.recovery_id for g in b.release(ask(9).key).grants] == []
    assert b.under_recovery() == {"c3", "c4", "c5"}


def test_a_new_owner_rebuilds_the_book_from_the_answers() -> None:
    b = book(cap="1")
    answers = [b.ask(ask(n), seq=n, now=0).grants[0] for n in range(3)]
    again = book(cap="1")
    for answer in answers:
        again.seed(Grant.decode(answer.encode()))
    assert (set(again.granted), set(again.waiting)) == (set(b.granted), set(b.waiting))
    assert again.ask(ask(1), seq=5, now=0).grants == [], "answered already"
    assert verdicts(again.release(ask(0).key).grants) == [("r1", Verdict.GRANTED)]


def test_the_settings_refuse_a_bad_cap_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="max_per_logical_cluster"):
        AdmissionSettings(max_per_logical_cluster="half")
    assert AdmissionSettings(max_clusters=" 20 %").max_clusters == "20%"


def test_a_burst_reported_before_it_is_decided_grants_nothing_once_it_tips_the_storm() -> None:
    b = book(cap="3")
    burst = [ask(n, "Connectivity", UNREACHABLE) for n in range(12)]
    for each in burst:
        b.report(each, now=0)
    answers = [b.ask(each, seq=n, now=0).grants[0] for n, each in enumerate(burst)]
    assert [a.verdict for a in answers] == [Verdict.ESCALATE] + [Verdict.WAITING] * 11
    assert b.under_recovery() == set()
