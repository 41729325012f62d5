"""The data dir's lock, its marker and the checks that decide which table stores are kept
(streams/datadir.py), without a broker; tests/pipeline/test_persistent_tables.py runs them in
real workers."""

import json
import os
from dataclasses import asdict
from pathlib import Path

import pytest
from faust.stores.rocksdb import RocksDBOptions
from faust.stores.rocksdb import Store as RocksDBStore

from streams.app import create_app
from streams.config import ServiceSettings, load_service_settings
from streams.datadir import (
    LOCK_FILE,
    MARKER_FILE,
    Owner,
    TableStores,
    held,
    persisted_offset,
    stale_reason,
    store_path,
    wipe_reason,
)
from streams.settings_loader import ConfigError

OWNER = Owner("tmc-recovery", 6, {"seen": "tmc.recovery.dedup.seen.v2"})


def table_stores(data_dir: Path) -> TableStores:
    settings = ServiceSettings(data_dir=data_dir)
    return TableStores(create_app(settings), settings)


def test_a_second_worker_on_a_data_dir_is_refused_until_the_first_lets_go(tmp_path: Path):
    with held(tmp_path / "w1"):
        assert (tmp_path / "w1" / LOCK_FILE).read_text() == f"{os.getpid()}\n"
        in_use = rf"in use by another worker \(pid {os.getpid()}\)"
        with pytest.raises(ConfigError, match=in_use), held(tmp_path / "w1"):
            pass
        with held(tmp_path / "w2"):  # another dir is another worker's
            pass
    with held(tmp_path / "w1"):
        pass


def test_the_store_path_is_the_one_faust_opens(tmp_path: Path):
    settings = ServiceSettings(data_dir=tmp_path)
    app = create_app(settings)
    table = app.Table("seen", partitions=6)
    tabledir = Path(app.conf.tabledir)
    assert tabledir.is_relative_to(tmp_path)
    assert store_path(tabledir, "seen", 4) == table.data.partition_path(4)  # type: ignore[attr-defined]


def test_the_persisted_offset_is_read_from_a_database_faust_wrote(tmp_path: Path):
    path = tmp_path / "seen-0.db"
    db = RocksDBOptions().open(path)
    db.put(b"edge-1~event", b"row")
    db.close()
    assert persisted_offset(path) is None
    db = RocksDBOptions().open(path)
    db.put(RocksDBStore.offset_key, b"41")
    db.close()
    assert persisted_offset(path) == 41


@pytest.mark.parametrize(
    ("offset", "first", "end", "kept"),
    [
        (None, 0, 10, True),  # nothing applied yet: Faust reads from the first offset
        (9, 0, 10, True),  # everything applied
        (3, 0, 10, True),  # a tail of 6 to replay
        (3, 4, 10, True),  # the next record it needs is the first one left
        (10, 0, 10, False),  # past the end: recreated or truncated
        (500, 0, 1, False),  # Faust's own check misses this one (its last offset is 0)
        (0, 0, 0, False),  # and this one (the stored offset is 0)
        (4, 0, 0, False),  # the changelog is empty now
        (3, 5, 10, False),  # record 4 was deleted before it was read
    ],
)
def test_a_store_is_kept_only_while_its_offset_lies_within_the_changelog(
    offset: int | None, first: int, end: int, kept: bool
):
    assert (stale_reason(offset, first, end) is None) is kept


def test_tables_of_another_owner_or_of_none_are_wiped():
    mine = {**asdict(OWNER), "clean": True}
    assert wipe_reason(mine, OWNER, exactly_once=False) is None
    assert wipe_reason(None, OWNER, exactly_once=False) is not None
    for other in (
        {"group_id": "another-group"},
        {"partitions": 12},
        {"changelogs": {"seen": "another.seen"}},
        {"changelogs": {**OWNER.changelogs, "targets": "tmc.recovery.dedup.targets.v2"}},
    ):
        reason = wipe_reason({**mine, **other}, OWNER, exactly_once=False)
        assert reason is not None
        assert str(next(iter(other.values()))) in reason


def test_after_an_unclean_stop_only_exactly_once_wipes():
    unclean = {**asdict(OWNER), "clean": False}
    assert wipe_reason(unclean, OWNER, exactly_once=False) is None
    assert "did not stop cleanly" in str(wipe_reason(unclean, OWNER, exactly_once=True))
    assert wipe_reason({**unclean, "clean": True}, OWNER, exactly_once=True) is None


@pytest.mark.parametrize(("code", "clean"), [(0, True), (None, True), (1, False)])
def test_the_marker_says_clean_only_after_a_clean_exit(tmp_path: Path, code, clean):
    stores = table_stores(tmp_path)

    def run_worker() -> None:
        assert json.loads(stores.marker.read_text())["clean"] is False
        raise SystemExit(code)

    with pytest.raises(SystemExit), stores.in_use():
        run_worker()
    assert json.loads((tmp_path / MARKER_FILE).read_text())["clean"] is clean


def test_a_crash_leaves_the_marker_unclean(tmp_path: Path):
    stores = table_stores(tmp_path)

    def crash() -> None:
        raise RuntimeError("crash")

    with pytest.raises(RuntimeError), stores.in_use():
        crash()
    assert json.loads(stores.marker.read_text())["clean"] is False


@pytest.mark.parametrize(("env", "url"), [(None, "rocksdb:"), ("memory", "memory:")])
def test_the_store_is_persistent_unless_configured_otherwise(
    monkeypatch: pytest.MonkeyPatch, env: str | None, url: str
):
    if env is not None:
        monkeypatch.setenv("TMC_STORE", env)
    assert str(create_app(ServiceSettings()).conf.store) == url


def test_an_unknown_store_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TMC_STORE", "redis")
    with pytest.raises(ConfigError, match="TMC_STORE"):
        load_service_settings()
