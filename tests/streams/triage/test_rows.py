"""The dedup tables' binary formats: what is written is read back, and a format this worker
does not know is refused, never misread."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.partitioning import row_key
from streams.triage.rows import (
    MAX_MERGED_IDS,
    DedupRowError,
    SeenEntry,
    TargetClaim,
    decode_seen,
    encode_seen,
    seen_index,
)

_text = st.text(max_size=40)
_entries = st.builds(
    SeenEntry,
    cluster=_text,
    event_id=st.text(
        st.characters(exclude_categories=["Cs"], exclude_characters="\0"), max_size=40
    ),
    recovery_id=_text,
    topic=_text,
    offset=st.integers(min_value=0, max_value=2**63 - 1),
    expires=st.floats(min_value=0, max_value=2**40, allow_nan=False),
)


@given(st.lists(_entries, max_size=50))
def test_a_seen_row_reads_back_what_was_written(entries: list[SeenEntry]) -> None:
    clusters = list(dict.fromkeys(e.cluster for e in entries))
    grouped = sorted(entries, key=lambda e: clusters.index(e.cluster))  # stable: kept in order
    assert list(decode_seen(encode_seen(entries))) == grouped


@given(st.lists(_entries, max_size=50))
def test_a_seen_rows_index_names_every_event_id_without_decoding_entries(
    entries: list[SeenEntry],
) -> None:
    index = seen_index(encode_seen(entries))
    assert sorted(index.keys) == sorted(row_key(e.cluster, e.event_id) for e in entries)
    assert index.expires == max((e.expires for e in entries), default=0.0)


def test_an_event_id_holding_nul_is_refused_rather_than_split() -> None:
    with pytest.raises(ValueError, match="NUL"):
        encode_seen([SeenEntry("edge-1", "a\0b", "r", "t", 1, 1.0)])


def test_a_seen_row_stores_repeated_strings_once() -> None:
    entries = [
        SeenEntry("edge-1", f"{i:036d}", "Conn-abc", "tmc.errors", i, 1.0) for i in range(100)
    ]
    raw = encode_seen(entries)
    assert raw.count(b"edge-1") == raw.count(b"Conn-abc") == raw.count(b"tmc.errors") == 1
    assert len(raw) / len(entries) < 70, "bytes per event id"


def test_a_claim_reads_back_what_was_written() -> None:
    claim = TargetClaim("r1", False, 12.5, ("a", "b"), 7, {"tmc.errors": 41})
    assert TargetClaim.decode(claim.encode()) == claim


@given(
    ids=st.lists(_text, max_size=220),
    silence=st.none() | _text,
    cooldown=st.none() | st.floats(0, 1e10),
)
def test_a_claim_grown_by_merges_writes_what_a_fresh_encode_of_it_writes(
    ids: list[str], silence: str | None, cooldown: float | None
) -> None:
    """The ids' JSON a claim grows merge by merge is the JSON of its ids."""
    claim = TargetClaim("r1", cooldown is None, cooldown, silence=silence)
    for offset, error_id in enumerate(ids):
        claim = claim.with_merge(error_id, "tmc.errors", offset)
    assert claim.merged_ids == tuple(dict.fromkeys(ids))[:MAX_MERGED_IDS]  # each id once
    fields = [1, "r1", cooldown is None, cooldown, list(claim.merged_ids), len(ids), claim.offsets]
    if silence is not None:
        fields[0:1], fields[len(fields) :] = [2], [silence]
    assert claim.encode() == json.dumps(fields, separators=(",", ":")).encode()
    assert TargetClaim.decode(claim.encode()) == claim


def test_an_id_inside_another_ids_text_is_merged_too() -> None:
    """The merge looks ids up in the claim's JSON first, where ``"b"`` sits inside the text of
    ``a"b`` (``"a\\"b"``): that hit alone must not count as already merged."""
    claim = TargetClaim("r1").with_merge('a"b', "t", 1).with_merge("b", "t", 2)
    assert claim.merged_ids == ('a"b', "b")
    assert claim.with_merge("b", "t", 3).merged_ids == ('a"b', "b")


@pytest.mark.parametrize("raw", [b"", b"\x01rest", b"\x03rest", b"{}"])
def test_an_unknown_seen_format_is_refused(raw: bytes) -> None:
    with pytest.raises(DedupRowError):
        list(decode_seen(raw))


@pytest.mark.parametrize("raw", [b'[9,"r1"]', b'{"recovery_id":"r1"}'])
def test_an_unknown_claim_format_is_refused(raw: bytes) -> None:
    with pytest.raises(DedupRowError):
        TargetClaim.decode(raw)
