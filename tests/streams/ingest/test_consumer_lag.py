"""The errors topic's lag as ingest measures it: from the record read to the partition's end."""

from streams.ingest.agent import consumer_lag


def test_lag_is_what_follows_the_record_read() -> None:
    assert consumer_lag(highwater=10, offset=3) == 6
    assert consumer_lag(highwater=10, offset=9) == 0, "the last record: caught up"


def test_an_end_not_known_yet_is_no_measurement() -> None:
    assert consumer_lag(highwater=None, offset=3) is None


def test_an_end_behind_the_record_is_zero_not_negative() -> None:
    # The end is refreshed by fetches; a record can be read before its fetch's end arrives.
    assert consumer_lag(highwater=2, offset=5) == 0
