"""A worker's data dir: held by one worker at a time, and its tables kept only while they
match their changelogs.

Faust's RocksDB store keeps, in each table partition's database, the offset of the last
changelog record that database holds, and on assignment reads the changelog from the next one:
a restart replays only the tail. That is right only while the database was built from these
very changelog partitions, so before Faust opens anything (streams/cli/worker.py):

- the worker locks the dir (``worker.lock``: flock, its pid inside). A second worker on the
  same dir is refused; RocksDB would only make it wait on each partition's lock, then serve;
- ``tables.json`` says whose tables the dir holds (group, partitions, each table's changelog)
  and whether the last worker on it stopped cleanly. Another owner's tables, tables of unknown
  owner, and, under exactly_once, the tables of a worker that did not stop cleanly (its store
  holds writes of aborted transactions; Kafka Streams wipes them too) are wiped. Under
  at_least_once a crashed worker's writes that never reached the changelog belong to records
  it had not committed, which are read again and which triage takes for redeliveries;
- each partition database's offset is compared with its changelog partition. At or past the
  end (the topic was recreated or truncated), or short of the first offset (records it never
  read were deleted, tombstones maybe among them), that database is wiped.

Under exactly_once Faust stores no offset at all (faust-streaming 0.15.3 keeps it pending until
a commit, then looks it up by the committed source partitions, never the changelog's): every
start replays every changelog into the kept rows.

Faust's own check (``recovery_consistency_check``) raises ConsistencyError for an offset past
the end, but skips a partition whose stored offset or last offset is 0 (a falsy zero): with it
alone, a recreated dedup changelog that had held one record per partition was served stale
(tests/pipeline/test_persistent_tables.py, with the check here turned off). No check here sees
a changelog deleted and refilled past a database's offset while the worker was down: Kafka's
topic ids would, and aiokafka's metadata does not carry them.
"""

import fcntl
import json
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.stores.rocksdb import Store as RocksDBStore
from rocksdict import AccessType, Options, Rdict

from streams.config import ServiceSettings
from streams.settings_loader import ConfigError

log = logging.getLogger(__name__)

LOCK_FILE = "worker.lock"
MARKER_FILE = "tables.json"


@contextmanager
def held(data_dir: Path) -> Iterator[None]:
    """Hold ``data_dir`` for this process until the block ends or the process dies."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / LOCK_FILE).open("a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            raise ConfigError(
                f"bad configuration: data_dir {data_dir} (env TMC_DATA_DIR) is in use by "
                f"another worker (pid {holder}); give each worker its own data dir"
            ) from None
        lock.truncate(0)
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        yield


def store_path(tabledir: Path, table: str, partition: int) -> Path:
    """Where Faust's RocksDB store keeps one partition of a table (its ``partition_path``)."""
    return tabledir / f"{table}-{partition}.db"


def persisted_offset(path: Path) -> int | None:
    """The offset of the last changelog record a partition database holds; None: none yet."""
    db = Rdict(str(path), options=Options(raw_mode=True), access_type=AccessType.read_only())
    try:
        raw = db.get(RocksDBStore.offset_key)
    finally:
        db.close()
    return None if raw is None else int(raw)


def stale_reason(offset: int | None, first: int, end: int) -> str | None:
    """Why a partition database holding ``offset`` no longer matches a changelog partition
    whose records run from ``first`` to before ``end``; None when it does."""
    if offset is None:
        return None
    if offset >= end:
        return (
            f"it holds offset {offset}, the changelog's last is {end - 1}: the topic was "
            "recreated or truncated"
        )
    if offset < first - 1:
        return f"records {offset + 1}-{first - 1} it never read were deleted from the changelog"
    return None


@dataclass(frozen=True)
class Owner:
    """What the tables in a data dir were built from."""

    group_id: str
    partitions: int
    changelogs: dict[str, str]  # table name -> changelog topic


def wipe_reason(marker: dict[str, Any] | None, owner: Owner, exactly_once: bool) -> str | None:
    """Why the tables ``marker`` (``tables.json``) describes cannot serve ``owner``."""
    if marker is None:
        return f"no readable {MARKER_FILE} says whose tables they are"
    theirs = {key: marker.get(key) for key in asdict(owner)}
    if theirs != asdict(owner):
        return f"they were built for {theirs}, this worker is {asdict(owner)}"
    if exactly_once and not marker.get("clean"):
        return "the last worker on them did not stop cleanly (exactly_once: aborted writes)"
    return None


@dataclass(frozen=True)
class Replay:
    """What a start reads from the changelogs: ``records`` of ``total`` (offsets, so a
    compacted changelog yields fewer), after wiping ``wiped`` partition databases."""

    records: int
    total: int
    wiped: int


class TableStores:
    """The RocksDB stores of an app's tables in its data dir."""

    def __init__(self, app: faust.App, settings: ServiceSettings) -> None:
        self.tabledir = Path(app.conf.tabledir)
        self.marker = settings.data_dir / MARKER_FILE
        self.bootstrap = settings.kafka.bootstrap_servers
        self.exactly_once = settings.kafka.processing_guarantee == "exactly_once"
        self.owner = Owner(
            group_id=settings.kafka.group_id,
            partitions=settings.topics.partitions,
            changelogs={
                table.name: table.changelog_topic.get_topic_name() for table in app.tables.values()
            },
        )

    async def prepare(self) -> Replay:
        """Wipe what cannot be trusted (each with a log line); what the start will replay."""
        if self.tabledir.exists():
            reason = wipe_reason(self._read_marker(), self.owner, self.exactly_once)
            if reason is not None:
                log.warning("wiping the tables in %s: %s", self.tabledir, reason)
                shutil.rmtree(self.tabledir)
        tps = [
            TopicPartition(topic, partition)
            for topic in self.owner.changelogs.values()
            for partition in range(self.owner.partitions)
        ]
        firsts, ends = await _offsets(self.bootstrap, tps)
        records = wiped = 0
        for table, topic in self.owner.changelogs.items():
            for partition in range(self.owner.partitions):
                tp = TopicPartition(topic, partition)
                path = store_path(self.tabledir, table, partition)
                offset = persisted_offset(path) if path.exists() else None
                reason = stale_reason(offset, firsts[tp], ends[tp])
                if reason is not None:
                    log.warning("wiping %s (%s[%d]): %s", path, topic, partition, reason)
                    shutil.rmtree(path)
                    wiped, offset = wiped + 1, None
                start = firsts[tp] if offset is None else max(offset + 1, firsts[tp])
                records += ends[tp] - start
        total = sum(ends[tp] - firsts[tp] for tp in tps)
        log.info(
            "tables in %s: %d of %d changelog records to replay (%d partition stores wiped)",
            self.tabledir,
            records,
            total,
            wiped,
        )
        return Replay(records, total, wiped)

    @contextmanager
    def in_use(self) -> Iterator[None]:
        """Mark the tables unclean while the block runs, clean again if it ends in a clean
        exit (Faust's worker ends with SystemExit: 0 after a clean stop)."""
        self._write_marker(clean=False)
        clean = False
        try:
            yield
            clean = True
        except SystemExit as exc:
            clean = exc.code in (0, None)
            raise
        finally:
            if clean:
                self._write_marker(clean=True)

    def _read_marker(self) -> dict[str, Any] | None:
        try:
            marker = json.loads(self.marker.read_text())
        except (OSError, ValueError):
            return None
        return marker if isinstance(marker, dict) else None

    def _write_marker(self, clean: bool) -> None:
        partial = self.marker.with_name(f"{self.marker.name}.tmp")
        partial.write_text(json.dumps({**asdict(self.owner), "clean": clean}, indent=2))
        partial.replace(self.marker)


async def _offsets(
    bootstrap: str, tps: list[TopicPartition]
) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
    """Each partition's first offset and end offset (the next to be written)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        return await consumer.beginning_offsets(tps), await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
