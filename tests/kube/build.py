"""Builds kube-apiserver and etcd from the Go module proxy, once per machine.

The binaries are the test suite's envtest. A build costs minutes and 2 GB of Go build
cache, so its output is kept under ``~/.cache/tmc-recovery/kube/<key>/``, where the key
hashes the pinning go.sum (a changed pin builds anew), and the build cache is a
throwaway directory deleted afterwards. The module cache stays Go's default.

``python -m tests.kube.build`` (what ``make kube-bins`` runs) builds if needed and prints
the directory; ``--background`` starts that build at the lowest CPU priority and returns at
once (``make test`` does, before it sets up the venv, so the compile overlaps everything).
"""

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

MODULE = Path(__file__).parent / "apiserver"
CACHE = Path.home() / ".cache" / "tmc-recovery" / "kube"
VERSION = "v1.34.4"
PACKAGES = {
    "k8s.io/kubernetes/cmd/kube-apiserver": "kube-apiserver",
    "go.etcd.io/etcd/server/v3": "etcd",
}
_MAJOR, _MINOR = VERSION[1:].split(".")[:2]
# No inlining: the compile costs about a quarter less CPU (819 -> 596 CPU-s for kube-apiserver on
# 2 cores), which on a fresh machine is the suite's critical path; a test fleet starts ~3 s slower.
GCFLAGS = "all=-l"
# Readonly pins; no cgo, as Kubernetes' releases build the apiserver (static, and no gcc runs for
# the standard library's cgo packages).
GO_ENV = {"GOFLAGS": "-mod=readonly", "CGO_ENABLED": "0"}
# The apiserver reports this version (clients and the discovery doc read it), as a release does.
LDFLAGS = (
    "-s -w"
    f" -X k8s.io/component-base/version.gitVersion={VERSION}"
    f" -X k8s.io/component-base/version.gitMajor={_MAJOR}"
    f" -X k8s.io/component-base/version.gitMinor={_MINOR}"
)


@dataclass(frozen=True)
class Binaries:
    apiserver: Path
    etcd: Path


class BuildFailed(RuntimeError):
    pass


def key() -> str:
    """go.sum changes with every pin (go.mod alone cannot change one: the build is readonly)."""
    return hashlib.sha256((MODULE / "go.sum").read_bytes()).hexdigest()[:16]


def cached() -> Binaries | None:
    """The binaries for the current pin, if this machine has built them."""
    home = CACHE / key()
    found = Binaries(home / "kube-apiserver", home / "etcd")
    return found if found.apiserver.exists() and found.etcd.exists() else None


def ensure() -> Binaries:
    """Builds unless cached; concurrent callers wait on a lock and build only once."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(_lock_path(), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = cached()
        if found is None:
            _build(CACHE / key())
            found = cached()
        assert found is not None
        return found


def log_path() -> Path:
    return CACHE / f"{key()}.build.log"


def _lock_path() -> Path:
    return CACHE / f"{key()}.lock"


def building() -> bool:
    """True while some process holds the build lock (a build, or a caller waiting on one)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(_lock_path(), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False


def start_in_background() -> "subprocess.Popen[bytes] | None":
    """A nice-19 build in its own session, logging to ``log_path()``; None when no build is
    needed or one is already running (``ensure()`` then waits for it on the lock)."""
    if cached() is not None or building():
        return None
    with open(log_path(), "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.kube.build"],
            stdout=out, stderr=subprocess.STDOUT, cwd=Path(__file__).parents[2],
            preexec_fn=_lowest_priority, start_new_session=True,
        )  # fmt: skip


def _lowest_priority() -> None:
    """In the build's child, after setsid: nice 19, for the process and for its session.
    Where the kernel shares CPU between sessions first (autogroup, on by default), a new
    session gets a fair share whatever its nice, and the suite ran at half speed beside
    the build (16 min on a fresh machine); the session's own nice makes it yield."""
    os.nice(19)
    try:
        with open("/proc/self/autogroup", "w") as autogroup:
            autogroup.write("19")
    except OSError:
        pass  # no autogroup here: the process's nice is enough


def _go() -> str:
    found = shutil.which("go") or "/usr/local/go/bin/go"
    if not os.access(found, os.X_OK):
        raise BuildFailed("no `go` on PATH or at /usr/local/go/bin/go: install Go >= 1.24")
    return found


def _build(home: Path) -> None:
    # Output goes to a sibling directory renamed into place, so a killed build leaves no half
    # key; the next build (it holds the lock) deletes what a killed one left, GOCACHE and all.
    for stale in home.parent.glob(f"{home.name}.build-*"):
        shutil.rmtree(stale)
    work = Path(tempfile.mkdtemp(prefix=f"{home.name}.build-", dir=home.parent))
    env = {**os.environ, **GO_ENV, "GOCACHE": str(work / "gocache")}
    command = [_go(), "build", "-trimpath", f"-gcflags={GCFLAGS}", f"-ldflags={LDFLAGS}"]
    print(f"building kube-apiserver {VERSION} and etcd into {home} (minutes)", file=sys.stderr)
    try:
        # One after the other: the second reuses what the first compiled into the shared cache.
        for package, name in PACKAGES.items():
            started = time.monotonic()
            done = subprocess.run(
                [*command, "-o", str(work / "bin" / name), package],
                cwd=MODULE,
                env=env,
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise BuildFailed(f"go build {package} failed:\n{done.stderr[-4000:]}")
            print(f"built {name} in {time.monotonic() - started:.0f} s", file=sys.stderr)
        (work / "bin").rename(home)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--background"]:
        started = start_in_background()
        if started is not None:
            print(f"kube: building in the background (pid {started.pid}, log {log_path()})")
    else:
        print(ensure().apiserver.parent)
