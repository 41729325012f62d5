"""Merges spliced into a row's stored bytes: byte for byte what a full encode gives."""

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from schemas.codec.records import RecordCodec
from schemas.records import RecoveryResult, RecoveryState
from streams.status.splice import MergeSplicer
from tests.schemas.examples import recovery_result

CODEC = RecordCodec(RecoveryResult)
IDS = st.lists(st.text(max_size=40), max_size=250).map(tuple)


def merged(row: RecoveryResult, ids: tuple[str, ...], count: int) -> RecoveryResult:
    return dataclasses.replace(row, merged_error_ids=ids, merged_count=count)


@given(before=IDS, after=IDS, count=st.integers(0, 2**40))
def test_a_splice_gives_the_bytes_a_full_encode_gives(
    before: tuple[str, ...], after: tuple[str, ...], count: int
) -> None:
    splicer = MergeSplicer(CODEC, 4)
    old = merged(recovery_result(state=RecoveryState.IN_PROGRESS), before, len(before))
    new = merged(old, after, count)
    assert splicer.splice(CODEC.encode(old), old, new) == CODEC.encode(new)


def test_a_row_merged_into_again_is_spliced_from_its_spliced_bytes() -> None:
    splicer = MergeSplicer(CODEC, 4)
    row = recovery_result()
    raw = CODEC.encode(row)
    for n in range(1, 30):
        later = merged(row, tuple(f"e-{i}" for i in range(n)), n)
        spliced = splicer.splice(raw, row, later)
        assert spliced == CODEC.encode(later)
        assert spliced is not None
        raw, row = spliced, later


def test_nothing_is_spliced_when_more_than_the_merges_changed() -> None:
    splicer = MergeSplicer(CODEC, 4)
    row = recovery_result(state=RecoveryState.IN_PROGRESS)
    ended = merged(dataclasses.replace(row, state=RecoveryState.COMPLETED), ("e-1",), 1)
    assert splicer.splice(CODEC.encode(row), row, ended) is None


def test_nothing_is_spliced_from_bytes_that_are_not_the_row() -> None:
    splicer = MergeSplicer(CODEC, 4)
    row, other = recovery_result(), merged(recovery_result(), ("e-9",), 5)
    later = merged(row, ("e-1",), 1)
    assert splicer.splice(CODEC.encode(other), row, later) is None  # merges span differs
    assert splicer.splice(b"\xc3\x01garbage", row, later) is None
    assert splicer.splice(b"", row, later) is None
