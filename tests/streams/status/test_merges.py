"""The merges topic's record: many notes per record, read back as written; a format this
version does not know is skipped, not misread."""

import json

from streams.status.merges import MergeNote, decode_notes, encode_notes


def test_notes_read_back_as_written() -> None:
    notes = [MergeNote("edge-1", "Conn-1", ("a", "b"), 7), MergeNote("edge-2", "Conn-2", (), 3)]
    assert decode_notes(encode_notes(notes)) == notes


def test_a_record_of_another_format_is_skipped() -> None:
    assert (
        decode_notes(
            json.dumps({"v": 1, "cluster": "edge-1", "id": "r", "ids": [], "n": 1}).encode()
        )
        == []
    )
