"""`tmc-recovery kafka up|down|status|fetch`: the local single-node broker."""

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from streams.broker.launcher import LocalKafka
from streams.broker.prerequisites import ensure_jars
from streams.broker.settings import LocalKafkaSettings
from streams.cli.output import console, emit
from streams.settings_loader import load_settings

app = typer.Typer(help="Run a real single-node Apache Kafka (KRaft) on 127.0.0.1.")

RunDir = Annotated[
    Path | None, typer.Option(help="State dir of the broker (env TMC_BROKER_RUN_DIR).")
]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _broker(run_dir: Path | None, **overrides: object) -> LocalKafka:
    if run_dir is not None:
        overrides["run_dir"] = run_dir
    return LocalKafka(load_settings(LocalKafkaSettings, **overrides))


@app.command()
def up(
    run_dir: RunDir = None,
    port: Annotated[int | None, typer.Option(help="Broker port; 0 picks a free one.")] = None,
    as_json: Json = False,
) -> None:
    """Start the broker (or reuse the running one) and print its bootstrap address."""
    overrides = {} if port is None else {"port": port}
    broker = _broker(run_dir, **overrides)
    with console.status("starting Kafka (first run fetches its jars with mvn)…"):
        state = broker.up()
    emit(asdict(state), as_json, f"Kafka is up at {state.bootstrap}")


@app.command()
def down(
    run_dir: RunDir = None,
    wipe: Annotated[bool, typer.Option(help="Also delete the broker's data and logs.")] = False,
    as_json: Json = False,
) -> None:
    """Stop the broker by its own pid."""
    broker = _broker(run_dir)
    with console.status("stopping Kafka…"):
        was_running = broker.down(wipe=wipe)
    emit({"stopped": was_running, "wiped": wipe}, as_json, "Kafka is down")


@app.command()
def status(run_dir: RunDir = None, as_json: Json = False) -> None:
    """Say whether the broker runs, where, and where its log is."""
    state = _broker(run_dir).status()
    if state is None:
        emit({"running": False}, as_json, "Kafka is not running")
        raise typer.Exit(1)
    emit({"running": True, **asdict(state)}, as_json, f"Kafka is running at {state.bootstrap}")


@app.command()
def fetch(as_json: Json = False) -> None:
    """Fetch the broker's jars from Maven Central (reused when present)."""
    settings = load_settings(LocalKafkaSettings)
    with console.status(f"fetching Kafka {settings.version} jars with mvn…"):
        lib_dir = ensure_jars(settings)
    emit({"lib_dir": str(lib_dir), "version": settings.version}, as_json, "Kafka jars")
