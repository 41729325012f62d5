"""Whether this worker serves its partitions, for a readiness probe and for people.

The service marks the worker ready once it has joined its group, recovered its tables and
caught up, and not ready when it stops. A hold keeps it not ready whatever the partitions say:
a starting worker is held until it has read the runtime configuration
(streams/runtime_config/gate.py). Ready means one INFO line (``worker ready: ...``,
once per transition) and, when a ready file is configured, that file: written atomically,
so a probe like ``test -f /run/tmc/ready`` never sees half a file. A stale file left by a
killed worker is removed at construction, so a restarted worker is not ready until it says
so again.
"""

import json
import logging
import os
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)


class Readiness:
    def __init__(self, ready_file: Path | None) -> None:
        self.ready_file = ready_file
        self._ready = False
        self._detail: str | None = None  # serving its partitions, and how
        self._holds: set[str] = set()
        self._remove()

    @property
    def ready(self) -> bool:
        return self._ready

    @property
    def waiting_for(self) -> list[str]:
        """What holds the worker back besides its partitions (e.g. the starting config)."""
        return sorted(self._holds)

    def mark_ready(self, detail: str) -> None:
        """Serving: ready (log ``worker ready: <detail>``, write the ready file) unless
        already ready or held."""
        self._detail = detail
        self._update()

    def mark_not_ready(self) -> None:
        """Not ready (stopping, or no longer serving): remove the ready file."""
        self._detail = None
        self._update()

    def hold(self, what: str) -> None:
        """Not ready until ``release(what)``, whatever the partitions say."""
        self._holds.add(what)
        log.info("worker not ready until %s", what)
        self._update()

    def release(self, what: str) -> None:
        self._holds.discard(what)
        self._update()

    def _update(self) -> None:
        if self._detail is not None and not self._holds:
            if self._ready:
                return
            if self.ready_file is not None:
                content = {"detail": self._detail, "pid": os.getpid(), "ready_at": time.time()}
                _write_atomically(self.ready_file, json.dumps(content, sort_keys=True) + "\n")
            self._ready = True
            log.info("worker ready: %s", self._detail)
            return
        if self._ready:
            log.info("worker not ready")
        self._ready = False
        self._remove()

    def _remove(self) -> None:
        if self.ready_file is not None:
            self.ready_file.unlink(missing_ok=True)


def _write_atomically(path: Path, text: str) -> None:
    """``text`` into ``path`` through a temporary file in the same directory and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
