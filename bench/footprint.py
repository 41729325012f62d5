"""Footprint: bytes on disk per dedup entry, and the worker's memory, with big state.

Run from the repository root: ``.venv/bin/python -m bench.footprint`` (the issue's 1,000,000
dedup entries and 100,000 status rows; ``--entries 100000 --status-rows 10000`` is a quick
run). Uses ``KAFKA_BOOTSTRAP_SERVERS`` when set, else starts the project's local broker.

A worker on ``store: rocksdb`` is filled through the real pipeline (bench/bigstate.py), then:

1. its RSS (VmRSS, and the peak VmHWM, from /proc) once filled;
2. SIGTERM (a clean stop closes the stores), and the dedup tables' RocksDB dirs under its data
   dir (``seen-*.db`` and ``targets-*.db``, every file: SSTs, write-ahead log, RocksDB's own
   logs) divided by the event ids on the seen changelog; the goal is at most 300 bytes;
3. started again on the same data dir and sent one error per partition, so that triage has
   rebuilt every partition's dedup state from the stores (it reads them on first use): its
   RSS then, the steady cost of holding the state;
4. for comparison, the same dirs after a full RocksDB compaction, and the changelog topics'
   segment bytes in the broker's log dir when that dir is on this machine (the local broker).

Baseline, same run: a bare aiokafka consumer process reads the same errors topic, decodes
each record with raw fastavro, keeps {event id: offset} in a dict and writes the pairs to a
plain RocksDB (rocksdict) dir: its RSS and its bytes per event id, the floor of a store that
remembers event ids and nothing else (the worker also keeps each one's recovery, record and
expiry, and a claim per target).

Results: a table on stdout and ``bench/results/footprint.json``.
"""

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
from dataclasses import asdict, dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, cast

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from fastavro import schemaless_reader
from rocksdict import Options, Rdict, WriteBatch

from bench import bigstate, report
from bench.noop_plugin import installed
from bench.report import Figure
from bench.restart import PipelineProbe, Process, ResultWatch, exited, stop, wait_until
from schemas.codec.framing import SINGLE_OBJECT_HEADER_LEN
from strategies.simulator import FleetSimulator
from streams.testing.harness import ERRORS, PipelineEnv, WorkerProcess, broker

PARTITIONS = 6
GOAL_BYTES = 300
LIMIT_S = 900.0  # a start or a stop of the filled worker, or the raw member's whole read
MIB = 1024


@dataclass(frozen=True)
class Disk:
    """Bytes of some RocksDB dirs, by kind of file."""

    sst: int
    wal: int
    other: int  # MANIFEST, OPTIONS, RocksDB's LOG files

    @property
    def total(self) -> int:
        return self.sst + self.wal + self.other


def disk(dirs: list[Path]) -> Disk:
    sizes = {".sst": 0, ".log": 0, "": 0}
    for path in (f for d in dirs for f in d.rglob("*") if f.is_file()):
        kind = path.suffix if path.suffix in sizes else ""
        sizes[kind] += path.stat().st_size
    return Disk(sizes[".sst"], sizes[".log"], sizes[""])


def stores(data_dir: Path, table: str) -> list[Path]:
    """One table's partition databases (streams/datadir.py: ``<table>-<partition>.db``)."""
    return sorted(data_dir.rglob(f"{table}-*.db"))


def dedup_stores(data_dir: Path) -> list[Path]:
    return [path for table in bigstate.DEDUP_TABLES for path in stores(data_dir, table)]


def compact(dirs: list[Path]) -> None:
    """A full compaction of each database (the worker must be gone)."""
    for path in dirs:
        db = Rdict(str(path), options=Options(raw_mode=True))
        try:
            db.flush()
            db.compact_range(None, None)
        finally:
            db.close()


async def log_dirs(bootstrap: str) -> list[Path]:
    """The broker's log dirs, where its topics' segments are (on this machine only for the
    local broker)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        node = (await admin.describe_cluster())["brokers"][0]["node_id"]
        (response,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.BROKER, str(node))]
        )
    finally:
        await admin.close()
    config = {
        e["config_names"]: e["config_value"]
        for e in response.to_object()["resources"][0]["config_entries"]
    }
    return [Path(d) for d in (config.get("log.dirs") or config.get("log.dir") or "").split(",")]


def segment_bytes(dirs: list[Path], topic: str, partitions: int) -> int | None:
    """Bytes of a topic's log segments (not its indexes, which are preallocated); None when
    the log dirs are not on this machine (a container or a remote broker)."""
    if not any(d.is_dir() for d in dirs):
        return None
    parts = [d / f"{topic}-{p}" for d in dirs for p in range(partitions)]
    return sum(f.stat().st_size for part in parts for f in part.glob("*.log"))


# --- the raw baseline --------------------------------------------------------------------


async def raw_dedup(bootstrap: str, topic: str, partitions: int, store: str) -> None:
    """The baseline process: every event id of the topic into a dict and a plain RocksDB;
    prints its memory and the store's bytes as one JSON line."""
    schema = ERRORS.avro.schema.parsed
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    seen: dict[str, int] = {}
    db = Rdict(store)
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batch = WriteBatch()
            for records in (await consumer.getmany(timeout_ms=1000, max_records=5000)).values():
                for record in records:
                    body = BytesIO(record.value[SINGLE_OBJECT_HEADER_LEN:])
                    event_id = cast(dict[str, str], schemaless_reader(body, schema))["event_id"]
                    seen[event_id] = record.offset
                    batch.put(event_id.encode(), record.offset.to_bytes(8, "big"))
            db.write(batch)
    finally:
        await consumer.stop()
        db.close()
    memory = bigstate.memory_kib(os.getpid())
    print(json.dumps({"entries": len(seen), "disk": asdict(disk([Path(store)])), **memory}))


async def raw_baseline(bootstrap: str, topic: str, workdir: Path) -> dict[str, Any]:
    argv = [
        sys.executable, "-m", "bench.footprint", "--raw-dedup", bootstrap, topic,
        str(PARTITIONS), str(workdir / "raw.db"),
    ]  # fmt: skip
    member = Process(argv, workdir / "raw-dedup.log").start()
    await exited(member, LIMIT_S)
    last = member.tail(1)
    if not last.startswith("{"):
        raise RuntimeError(f"the raw baseline failed:\n{member.tail()}")
    found: dict[str, Any] = json.loads(last)
    return found


# --- the worker --------------------------------------------------------------------------


async def consuming(env: PipelineEnv, worker: WorkerProcess) -> None:
    """One error per partition, back Completed: every partition's dedup state is loaded."""
    producer = AIOKafkaProducer(bootstrap_servers=env.bootstrap, linger_ms=0, acks="all")
    await producer.start()
    try:
        async with ResultWatch(env.bootstrap, env.topics["results"], env.partitions) as watch:
            probe = PipelineProbe(env.topics["errors"], env.partitions, watch, producer, 1)
            sent = await probe.send()
            await wait_until(lambda: probe.done(sent), LIMIT_S, "the probe", [worker])
    finally:
        await producer.stop()


def rss(worker: WorkerProcess) -> dict[str, int]:
    assert worker.proc is not None
    return bigstate.memory_kib(worker.proc.pid)


async def measure(env: PipelineEnv, shape: bigstate.Shape) -> dict[str, Any]:
    """Fill, stop and measure the stores, restart and measure the memory (module docstring)."""
    data_dir = env.workdir / "data"
    found: dict[str, Any] = {}
    with installed(env.workdir / "plugin"):
        config = env.config("w1", **bigstate.overrides("rocksdb", data_dir))
        worker = WorkerProcess(config, env.workdir / "w1.log").start()
        try:
            await worker.ready(LIMIT_S)
            filled = await bigstate.fill(env, worker, shape)
            found["fill"] = {**asdict(filled), "errors_per_s": filled.rate}
            found["rss_filled_kib"] = rss(worker)
            worker.stop(timeout=LIMIT_S)
            found["stores"] = {t: asdict(disk(stores(data_dir, t))) for t in bigstate.tables()}
            found["dedup"] = asdict(disk(dedup_stores(data_dir)))
            found["census"] = asdict(await bigstate.census(env))  # what the stores hold
            worker = WorkerProcess(config, worker.log).start()
            await worker.ready(LIMIT_S)
            await consuming(env, worker)
            found["rss_restarted_kib"] = rss(worker)
        finally:
            await stop([worker])
    compact(dedup_stores(data_dir))
    found["dedup_compacted"] = asdict(disk(dedup_stores(data_dir)))
    return found


async def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-footprint-"))
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # new topics: NotLeader retries
    shape = bigstate.shape_of(args)
    async with broker() as bootstrap, FleetSimulator(["edge-1"]) as fleet:
        env = PipelineEnv(bootstrap, fleet.fleet_path, workdir, partitions=PARTITIONS)
        found = await measure(env, shape)
        logs = await log_dirs(bootstrap)
        changelogs = {
            t: segment_bytes(logs, bigstate.changelog(env, t), PARTITIONS)
            for t in bigstate.tables()
        }
        raw = await raw_baseline(bootstrap, env.topics["errors"], workdir)
    result = {"shape": asdict(shape), **found, "raw": raw,
              "changelog_segment_bytes": changelogs, "workdir": str(workdir)}  # fmt: skip
    figures = report_figures(result)
    written = report.write("footprint", figures, result)
    print(f"\nwritten to {written}; worker logs in {workdir}")


@dataclass(frozen=True)
class Footprint:
    """The figures, per dedup entry and in MiB, from a run's result."""

    entries: int
    kept: Disk  # the dedup stores after a clean stop
    compacted: Disk
    raw_entries: int
    raw_disk: Disk
    rss_filled: dict[str, int]  # KiB
    rss_restarted: dict[str, int]
    raw_rss: dict[str, int]

    @classmethod
    def of(cls, result: dict[str, Any]) -> "Footprint":
        raw = result["raw"]
        return cls(
            result["census"]["dedup_entries"], Disk(**result["dedup"]),
            Disk(**result["dedup_compacted"]), raw["entries"], Disk(**raw["disk"]),
            result["rss_filled_kib"], result["rss_restarted_kib"], raw,
        )  # fmt: skip

    def per_entry(self, size: float) -> str:
        return f"{size / self.entries:,.0f} B"

    def table(self) -> str:
        kept, raw_per_entry = self.kept, self.raw_disk.total / self.raw_entries
        filled, restarted, raw = self.rss_filled, self.rss_restarted, self.raw_rss
        return "\n".join([
            "| per dedup entry, or the process's memory | worker | raw baseline | worker / raw |",
            "|---|---|---|---|",
            f"| bytes on disk, RocksDB seen + targets after a clean stop | "
            f"{self.per_entry(kept.total)} (SST {self.per_entry(kept.sst)}, WAL "
            f"{self.per_entry(kept.wal)}, other {self.per_entry(kept.other)}) "
            f"| {raw_per_entry:,.0f} B | {kept.total / self.entries / raw_per_entry:.2f} |",
            f"| the same after a full compaction, SST + WAL "
            f"| {self.per_entry(self.compacted.sst + self.compacted.wal)} | | |",
            f"| RSS once filled (peak) | {mib(filled['VmRSS'])} ({mib(filled['VmHWM'])}) "
            f"| {mib(raw['VmRSS'])} ({mib(raw['VmHWM'])}) | {filled['VmRSS'] / raw['VmRSS']:.2f} |",
            f"| RSS restarted onto the state, every partition loaded "
            f"| {mib(restarted['VmRSS'])} | {mib(raw['VmRSS'])} "
            f"| {restarted['VmRSS'] / raw['VmRSS']:.2f} |",
        ])  # fmt: skip

    def figures(self) -> list[Figure]:
        raw_rss = self.raw_rss["VmRSS"] / MIB
        return [
            Figure("dedup bytes on disk per entry (RocksDB seen + targets)",
                   self.kept.total / self.entries, self.raw_disk.total / self.raw_entries, "B",
                   higher_is_better=False),
            Figure(f"worker RSS, filled with {self.entries:,} entries",
                   self.rss_filled["VmRSS"] / MIB, raw_rss, "MiB", higher_is_better=False),
            Figure(f"worker RSS, restarted onto {self.entries:,} entries",
                   self.rss_restarted["VmRSS"] / MIB, raw_rss, "MiB", higher_is_better=False),
        ]  # fmt: skip


def mib(kib: int) -> str:
    return f"{kib / MIB:,.0f} MiB"


def report_figures(result: dict[str, Any]) -> list[Figure]:
    """Print what the run found; the figures beside the raw baseline."""
    found = Footprint.of(result)
    rows = result["census"]["rows"]
    print(f"\n{found.entries:,} dedup entries in {rows['seen']:,} seen rows, {rows['targets']:,} "
          f"claims, {rows['status']:,} status rows; the raw baseline holds {found.raw_entries:,} "
          "event ids\n")  # fmt: skip
    print(found.table())
    for table, size in result["changelog_segment_bytes"].items():
        if size is not None:  # the broker's log dir is on this machine
            each = (f"{found.per_entry(size)} per dedup entry" if table in bigstate.DEDUP_TABLES
                    else f"{size / max(rows[table], 1):,.0f} B per row")  # fmt: skip
            print(f"changelog of {table}: {size:,} bytes of segments, {each}")
    per_entry = found.kept.total / found.entries
    verdict = "met" if per_entry <= GOAL_BYTES else "NOT met"
    print(f"\ngoal: at most {GOAL_BYTES} bytes per dedup entry on disk: {verdict} "
          f"({per_entry:,.0f} B)")  # fmt: skip
    return found.figures()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.footprint", description=__doc__.split("\n")[0]
    )
    bigstate.add_shape_arguments(parser)
    parser.add_argument(
        "--raw-dedup", nargs=4, metavar=("BOOTSTRAP", "TOPIC", "PARTITIONS", "STORE"),
        help="(internal) be the raw baseline process",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.raw_dedup:
        bootstrap, topic, partitions, store = args.raw_dedup
        asyncio.run(raw_dedup(bootstrap, topic, int(partitions), store))
    else:
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
