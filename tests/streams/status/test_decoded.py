"""Decoded rows kept by key: a row is served only for the very bytes it was decoded from."""

from streams.status.decoded import DecodedRows
from tests.schemas.examples import recovery_result


def test_a_row_is_served_for_its_own_bytes_only() -> None:
    rows, row = DecodedRows(4), recovery_result()
    rows.put("edge-1~a", b"v1", row)
    assert rows.get("edge-1~a", b"v1") is row
    assert rows.get("edge-1~a", b"v2") is None  # the table holds another version: decode it
    assert rows.get("edge-1~b", b"v1") is None


def test_the_least_recently_used_row_leaves_first() -> None:
    rows = DecodedRows(2)
    a, b, c = (recovery_result(recovery_id=i) for i in "abc")
    rows.put("a", b"a", a)
    rows.put("b", b"b", b)
    assert rows.get("a", b"a") is a  # used: b is now the oldest
    rows.put("c", b"c", c)
    assert rows.get("b", b"b") is None
    assert rows.get("a", b"a") is a
    assert rows.get("c", b"c") is c


def test_a_dropped_row_is_gone() -> None:
    rows = DecodedRows(2)
    rows.put("a", b"a", recovery_result())
    rows.drop("a")
    rows.drop("never-kept")
    assert rows.get("a", b"a") is None


def test_the_last_row_kept_is_given_with_its_bytes_whatever_is_asked() -> None:
    rows, row = DecodedRows(2), recovery_result()
    rows.put("a", b"v1", row)
    assert rows.last("a") == (b"v1", row)
    assert rows.last("b") is None
