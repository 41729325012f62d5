"""`tmc-recovery dlq list|replay`: what ingest dead-lettered, and sending it through again.

A dead letter is the original record (key, value, headers) plus the reason headers ingest
added (streams/ingest/admission.py). Replay strips those, marks where the record came from,
and produces it to the errors topic with its original key, so it lands on its cluster's
partition. Worth doing once the cause is fixed (a schema registry back, a schema shipped).
"""

import asyncio
import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from rich.table import Table

from schemas.errors import TmcRecoveryError
from streams.cli.connect import Connection
from streams.cli.output import console, print_json
from streams.cli.topics import Bootstrap, ConfigFile, Json
from streams.clients.subscriber import assign_every_partition
from streams.ingest.admission import DLQ_DETAIL, DLQ_REASON, DLQ_SOURCE
from streams.quiet_logs import muted

app = typer.Typer(help="List dead-lettered errors with their reasons; replay chosen ones.")

REPLAYED_FROM = "tmc.dlq.replayed-from"
_ADDED = {DLQ_REASON, DLQ_DETAIL, DLQ_SOURCE}


class DlqError(TmcRecoveryError):
    """The dead letters could not be read or replayed as asked."""


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    timestamp: datetime
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    @property
    def where(self) -> str:
        return f"{self.partition}@{self.offset}"

    def header(self, name: str) -> str:
        return next((v.decode(errors="replace") for k, v in self.headers if k == name), "")

    def original_headers(self) -> list[tuple[str, bytes]]:
        return [(k, v) for k, v in self.headers if k not in _ADDED]

    def view(self) -> dict[str, Any]:
        return {
            "partition": self.partition,
            "offset": self.offset,
            "timestamp": self.timestamp.isoformat(),
            "key": None if self.key is None else self.key.decode(errors="replace"),
            "reason": self.header(DLQ_REASON),
            "detail": self.header(DLQ_DETAIL),
            "source": self.header(DLQ_SOURCE),
            "replayed_from": self.header(REPLAYED_FROM) or None,
            "size": len(self.value or b""),
            "value_base64": base64.b64encode(self.value or b"").decode(),
        }


Reason = Annotated[str | None, typer.Option(help="Only dead letters with this reason code.")]


@app.command("list")
def list_dead_letters(
    reason: Reason = None,
    config: ConfigFile = None,
    bootstrap: Bootstrap = None,
    as_json: Json = False,
) -> None:
    """Every dead letter retained, oldest first per partition, with its reason headers."""
    link = Connection(config, bootstrap)
    topic = link.topic("dlq")
    letters = [d for d in _read(link.bootstrap, topic) if reason in (None, d.header(DLQ_REASON))]
    if as_json:
        print_json({"topic": topic, "dead_letters": [d.view() for d in letters]})
        return
    table = Table(title=f"{topic}: {len(letters)} dead letters", title_justify="left")
    for column in ("at", "time", "key", "reason", "detail", "bytes"):
        table.add_column(column)
    for d in letters:
        view = d.view()
        table.add_row(
            d.where, view["timestamp"], view["key"], view["reason"], view["detail"][:80],
            str(view["size"]),
        )  # fmt: skip
    console.print(table)


@app.command()
def replay(
    record: Annotated[
        list[str] | None, typer.Option(help="PARTITION@OFFSET of one dead letter; repeatable.")
    ] = None,
    reason: Reason = None,
    all_: Annotated[bool, typer.Option("--all", help="Every dead letter retained.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Say what it would replay; send nothing.")] = False,
    config: ConfigFile = None,
    bootstrap: Bootstrap = None,
    as_json: Json = False,
) -> None:
    """Send chosen dead letters to the errors topic again, as they first came (key, headers)."""
    if not (record or reason or all_):
        raise DlqError("choose what to replay: --record P@O, --reason CODE or --all")
    link = Connection(config, bootstrap)
    dlq, errors = link.topic("dlq"), link.topic("errors")
    letters = _chosen(_read(link.bootstrap, dlq), record or [], reason)
    sent: list[str | None] = (
        [None] * len(letters)
        if dry_run
        else [*asyncio.run(_send(link.bootstrap, dlq, errors, letters))]
    )
    replayed = [
        {"dead_letter": d.where, "reason": d.header(DLQ_REASON), "sent_to": to}
        for d, to in zip(letters, sent, strict=True)
    ]
    report = {"from": dlq, "to": errors, "dry_run": dry_run, "replayed": replayed}
    if as_json:
        print_json(report)
        return
    verb = "would replay" if dry_run else "replayed"
    console.print(f"{verb} {len(letters)} dead letters from {dlq} to {errors}")
    for line in replayed:
        arrow = f" -> {errors} {line['sent_to']}" if line["sent_to"] else ""
        console.print(f"  {dlq} {line['dead_letter']} ({line['reason']}){arrow}")


def _chosen(letters: list[DeadLetter], records: list[str], reason: str | None) -> list[DeadLetter]:
    """The letters named by ``records`` (each must exist) or with ``reason``; all without both."""
    at = {d.where: d for d in letters}
    missing = [r for r in records if r not in at]
    if missing:
        raise DlqError(f"no dead letter at {', '.join(missing)} (see `tmc-recovery dlq list`)")
    if records:
        return [at[r] for r in records]
    return [d for d in letters if reason in (None, d.header(DLQ_REASON))]


def _read(bootstrap: str, topic: str) -> list[DeadLetter]:
    with muted("aiokafka"), console.status(f"reading {topic}…"):
        return asyncio.run(_read_all(bootstrap, topic))


async def _read_all(bootstrap: str, topic: str) -> list[DeadLetter]:
    """Every record up to the end each partition had when reading began."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        if topic not in await consumer.topics():
            raise DlqError(f"topic {topic} does not exist on {bootstrap}")
        async with asyncio.timeout(30):
            partitions = sorted(await assign_every_partition(consumer, topic))
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        letters: list[DeadLetter] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for tp, messages in (await consumer.getmany(timeout_ms=1000)).items():
                letters += [_letter(m) for m in messages if m.offset < ends[tp]]
        return letters
    finally:
        await consumer.stop()


def _letter(message: Any) -> DeadLetter:
    return DeadLetter(
        message.partition,
        message.offset,
        datetime.fromtimestamp(message.timestamp / 1000, UTC),
        message.key,
        message.value,
        tuple(message.headers or ()),
    )


async def _send(bootstrap: str, dlq: str, errors: str, letters: list[DeadLetter]) -> list[str]:
    """Produce each letter to ``errors``; where each landed, as ``partition@offset``."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        landed = []
        for d in letters:
            headers = [*d.original_headers(), (REPLAYED_FROM, f"{dlq}:{d.where}".encode())]
            sent = await producer.send_and_wait(errors, d.value, key=d.key, headers=headers)
            landed.append(f"{sent.partition}@{sent.offset}")
        return landed
    finally:
        await producer.stop()
