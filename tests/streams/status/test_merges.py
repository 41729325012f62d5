"""The merges topic's record: many notes per record, read back as written; a format this
version does not know is skipped, not misread."""

import json

from streams.status.merges import MergeNote, decode_notes, encode_notes


def test_notes_read_back_as_written() -> None:
    notes = [MergeNote("edge-1", "Conn-1", ("a", "b"), 7), MergeNote("edge-2", "Conn-2", (), 3)]
    [record] = encode_notes(notes)
    assert decode_notes(record) == notes


def test_many_notes_split_into_records_under_the_limit_in_order() -> None:
    notes = [MergeNote(f"edge-{n}", f"Conn-{n}", (f"e-{n}",) * 3, n) for n in range(5000)]
    records = encode_notes(notes, max_bytes=10_000)
    assert len(records) > 1
    assert all(len(record) <= 10_000 for record in records)
    assert [note for record in records for note in decode_notes(record)] == notes


def test_a_note_larger_than_the_limit_goes_alone() -> None:
    big = MergeNote("edge-1", "Conn-1", tuple(f"e-{n}" for n in range(100)), 100)
    small = MergeNote("edge-2", "Conn-2", ("a",), 1)
    records = encode_notes([small, big, small], max_bytes=200)
    assert [decode_notes(r) for r in records] == [[small], [big], [small]]


def test_a_record_of_another_format_is_skipped() -> None:
    assert (
        decode_notes(
            json.dumps({"v": 1, "cluster": "edge-1", "id": "r", "ids": [], "n": 1}).encode()
        )
        == []
    )
