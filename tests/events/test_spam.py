"""client-go's spam filter: a token bucket per source and object, 25 tokens, one more every
5 minutes; a drop is reported once until the key writes again. The clock is the caller's."""

from datetime import UTC, datetime, timedelta

from streams.events.spam import BURST, REFILL_S, SpamFilter, Verdict

T0 = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_defaults_are_client_gos() -> None:
    spam = SpamFilter()
    assert (spam.burst, spam.refill_s) == (BURST, REFILL_S) == (25, 300.0)
    verdicts = [spam.admit("edge-1", at(0)) for _ in range(27)]
    assert verdicts == [Verdict.WRITE] * 25 + [Verdict.DROP, Verdict.DROP_AGAIN]


def test_one_token_comes_back_per_refill_period_and_no_more_than_the_burst() -> None:
    spam = SpamFilter(burst=2, refill_s=300)
    assert [spam.admit("k", at(0)) for _ in range(3)] == [
        Verdict.WRITE, Verdict.WRITE, Verdict.DROP,
    ]  # fmt: skip
    assert spam.admit("k", at(299)) is Verdict.DROP_AGAIN  # 0.997 of a token
    assert spam.admit("k", at(300)) is Verdict.WRITE
    assert spam.admit("k", at(301)) is Verdict.DROP  # a new episode after a write
    # a long quiet refills to the burst, not beyond it
    assert [spam.admit("k", at(301 + 10 * 300)) for _ in range(3)] == [
        Verdict.WRITE, Verdict.WRITE, Verdict.DROP,
    ]  # fmt: skip


def test_time_read_out_of_order_earns_nothing() -> None:
    spam = SpamFilter(burst=1, refill_s=10)
    assert spam.admit("k", at(100)) is Verdict.WRITE
    assert spam.admit("k", at(50)) is Verdict.DROP
    assert spam.admit("k", at(105)) is Verdict.DROP_AGAIN  # half a token since 100, not 55 s
    assert spam.admit("k", at(110)) is Verdict.WRITE


def test_keys_have_their_own_buckets_and_the_cache_is_bounded() -> None:
    spam = SpamFilter(burst=1, refill_s=300, cache_size=2)
    assert [spam.admit(key, at(0)) for key in ("a", "b", "a")] == [
        Verdict.WRITE, Verdict.WRITE, Verdict.DROP,
    ]  # fmt: skip
    spam.admit("c", at(0))  # "b" is the least recently used, and forgotten
    assert spam.admit("b", at(0)) is Verdict.WRITE
