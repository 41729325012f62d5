"""Start, find and stop one local Kafka broker, always by its own pid.

The broker runs detached: `kafka up` returns once it answers a metadata request,
and `kafka down` stops it. Its files live in one state directory:
``server.properties``, ``log4j2.properties``, ``data/``, ``logs/`` and
``broker.json`` (pid, ports, readiness time).
"""

import contextlib
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from streams.broker.errors import BrokerStartFailed, CorruptDataDir, PortInUse
from streams.broker.prerequisites import ensure_jars, resolve_java
from streams.broker.properties import (
    BrokerLayout,
    log4j2_properties,
    new_cluster_id,
    parse_properties,
    render_properties,
    server_properties,
)
from streams.broker.readiness import is_ready
from streams.broker.settings import LocalKafkaSettings

LOG_TAIL_LINES = 25


@dataclass(frozen=True)
class BrokerState:
    """What `kafka status` reports about a running broker."""

    pid: int
    bootstrap: str
    cluster_id: str
    state_dir: str
    log_file: str
    ready_seconds: float


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def claim_port(host: str, port: int) -> int:
    """``port`` if it is free on ``host`` (a free one when 0); PortInUse otherwise."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(f"port {host}:{port} is already in use") from exc
            raise
        bound: int = sock.getsockname()[1]
        return bound


class LocalKafka:
    """One broker instance in ``settings.state_dir``."""

    def __init__(self, settings: LocalKafkaSettings) -> None:
        self.settings = settings
        self.dir = settings.state_dir
        self.data_dir = self.dir / "data"
        self.logs_dir = self.dir / "logs"
        self.server_props = self.dir / "server.properties"
        self.log4j_props = self.dir / "log4j2.properties"
        self.state_file = self.dir / "broker.json"
        self.log_file = self.logs_dir / "server.log"
        self.console_file = self.logs_dir / "console.log"
        self._process: subprocess.Popen[bytes] | None = None

    # -- public operations -------------------------------------------------

    def status(self) -> BrokerState | None:
        """The running broker, or None (a stale state file is removed)."""
        try:
            state = BrokerState(**json.loads(self.state_file.read_text()))
        except (OSError, ValueError, TypeError):
            return None
        if self._is_our_broker(state.pid):
            return state
        self.state_file.unlink(missing_ok=True)
        return None

    def up(self) -> BrokerState:
        """Start the broker, or return the one already running here."""
        running = self.status()
        if running is not None:
            return running
        java = resolve_java(self.settings)
        lib_dir = ensure_jars(self.settings)
        layout = self._prepare(java, lib_dir)
        return self._start(java, lib_dir, layout)

    def down(self, wipe: bool = False) -> bool:
        """Stop the broker by its pid; True if one was running. ``wipe`` deletes its data."""
        state = self.status()
        if state is not None:
            self._terminate(state.pid)
            self.state_file.unlink(missing_ok=True)
        if wipe:
            shutil.rmtree(self.dir, ignore_errors=True)
        return state is not None

    # -- preparation -------------------------------------------------------

    def _prepare(self, java: str, lib_dir: Path) -> BrokerLayout:
        """Reuse a formatted data dir, or write the config and format a fresh one."""
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self.log4j_props.write_text(log4j2_properties(self.log_file))
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            return self._existing_layout()
        host = self.settings.host
        layout = BrokerLayout(
            host=host,
            port=claim_port(host, self.settings.port),
            controller_port=claim_port(host, self.settings.controller_port),
            data_dir=self.data_dir,
            logs_dir=self.logs_dir,
        )
        self.server_props.write_text(render_properties(server_properties(layout)))
        self._format(java, lib_dir, new_cluster_id())
        return layout

    def _existing_layout(self) -> BrokerLayout:
        meta_file = self.data_dir / "meta.properties"
        try:
            meta = parse_properties(meta_file.read_text())
            props = parse_properties(self.server_props.read_text())
            if "cluster.id" not in meta:
                raise ValueError("meta.properties has no cluster.id")
            ports = [int(listener.rsplit(":", 1)[1]) for listener in props["listeners"].split(",")]
        except (OSError, ValueError, KeyError, IndexError) as exc:
            raise CorruptDataDir(
                f"data dir {self.data_dir} is not a formatted KRaft log dir ({exc}); "
                "remove it with `tmc-recovery kafka down --wipe`"
            ) from exc
        host = self.settings.host
        for port in ports:
            claim_port(host, port)
        return BrokerLayout(host, ports[0], ports[1], self.data_dir, self.logs_dir)

    def _format(self, java: str, lib_dir: Path, cluster_id: str) -> None:
        command = [
            java, "-Xmx256m", "-cp", f"{lib_dir}/*", "kafka.tools.StorageTool", "format",
            "--standalone", "-t", cluster_id, "-c", str(self.server_props),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            output = (done.stdout + done.stderr).strip()
            raise BrokerStartFailed(
                f"formatting {self.data_dir} failed: {output.splitlines()[-1:]}",
                str(self.server_props),
                output,
            )

    # -- process -----------------------------------------------------------

    def _start(self, java: str, lib_dir: Path, layout: BrokerLayout) -> BrokerState:
        heap = f"{self.settings.heap_mb}m"
        command = [
            java, f"-Xms{heap}", f"-Xmx{heap}", *self.settings.jvm_options.split(),
            "-Djava.awt.headless=true", f"-Dkafka.logs.dir={self.logs_dir}",
            f"-Dlog4j2.configurationFile={self.log4j_props}",
            "-cp", f"{lib_dir}/*", "kafka.Kafka", str(self.server_props),
        ]  # fmt: skip
        started = time.monotonic()
        with self.console_file.open("ab") as console:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        pid = self._process.pid
        deadline = started + self.settings.ready_timeout_s
        while not is_ready(layout.bootstrap, timeout_s=2.0):
            if self._process.poll() is not None:
                self._fail(f"the broker exited with code {self._process.returncode} before ready")
            if time.monotonic() > deadline:
                self._terminate(pid)
                self._fail(f"the broker was not ready within {self.settings.ready_timeout_s:g}s")
            time.sleep(0.2)
        meta = parse_properties((self.data_dir / "meta.properties").read_text())
        state = BrokerState(
            pid=pid,
            bootstrap=layout.bootstrap,
            cluster_id=meta["cluster.id"],
            state_dir=str(self.dir),
            log_file=str(self.log_file),
            ready_seconds=round(time.monotonic() - started, 3),
        )
        self.state_file.write_text(json.dumps(asdict(state), indent=2))
        return state

    def _fail(self, message: str) -> None:
        tail = log_tail(self.log_file) or log_tail(self.console_file)
        raise BrokerStartFailed(message, str(self.log_file), tail)

    def _is_our_broker(self, pid: int) -> bool:
        """True only for a live process running kafka.Kafka on this state dir's config."""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            status = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        zombie = status.rsplit(")", 1)[-1].split()[0] == "Z"
        return (
            not zombie and b"kafka.Kafka" in cmdline and str(self.server_props).encode() in cmdline
        )

    def _terminate(self, pid: int) -> None:
        """SIGTERM (the broker's shutdown hook is clean), SIGKILL after the stop timeout."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.settings.stop_timeout_s
        while self._is_our_broker(pid) and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.1)
        if self._is_our_broker(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            while self._is_our_broker(pid):
                time.sleep(0.05)
        self._reap()

    def _reap(self) -> None:
        if self._process is not None:
            self._process.poll()
