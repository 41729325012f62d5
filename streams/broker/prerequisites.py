"""What the broker needs before it can start: Java 17+ and its jars from Maven Central."""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from streams.broker.errors import JarFetchFailed, JavaNotFound, JavaTooOld, MavenNotFound
from streams.broker.settings import LocalKafkaSettings

MIN_JAVA = 17
POM = Path(__file__).with_name("pom.xml")
_VERSION_RE = re.compile(r'version "(\d+)(?:\.(\d+))?[^"]*"')


def parse_java_major(version_output: str) -> int | None:
    """The major version from `java -version` output; "1.8.0" means 8."""
    match = _VERSION_RE.search(version_output)
    if match is None:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2) is not None:
        return int(match.group(2))
    return major


def resolve_java(settings: LocalKafkaSettings) -> str:
    """The java executable to run, checked to be Java 17 or newer."""
    candidate = settings.java
    java_home = os.environ.get("JAVA_HOME")
    if candidate == "java" and java_home:
        candidate = str(Path(java_home) / "bin" / "java")
    path = shutil.which(candidate)
    if path is None:
        raise JavaNotFound(
            f"java not found at {candidate!r}: install OpenJDK {MIN_JAVA}+ or set TMC_BROKER_JAVA"
        )
    try:
        done = subprocess.run(
            [path, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise JavaNotFound(f"{path} -version did not run: {exc}") from exc
    major = parse_java_major(done.stderr + done.stdout)
    if major is None:
        raise JavaNotFound(f"{path} -version printed no version: {done.stderr.strip()[:200]!r}")
    if major < MIN_JAVA:
        raise JavaTooOld(f"Kafka needs Java {MIN_JAVA} or newer, {path} is Java {major}")
    return path


def jars_present(lib_dir: Path, version: str) -> bool:
    return (lib_dir / f"kafka_2.13-{version}.jar").is_file() and any(
        lib_dir.glob("log4j-slf4j-impl-*.jar")
    )


def ensure_jars(settings: LocalKafkaSettings) -> Path:
    """The broker's lib dir, fetched with mvn on first use and reused after."""
    lib_dir = settings.lib_dir
    if jars_present(lib_dir, settings.version):
        return lib_dir
    mvn = shutil.which(settings.mvn)
    if mvn is None:
        raise MavenNotFound(
            f"Kafka jars are not in {lib_dir} and mvn was not found at {settings.mvn!r}: "
            "install Maven or set TMC_BROKER_MVN"
        )
    lib_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{lib_dir.name}.", dir=lib_dir.parent))
    command = [
        mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
        f"-DoutputDirectory={staging}", "-DincludeScope=runtime",
        f"-Dkafka.version={settings.version}",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not jars_present(staging, settings.version):
        shutil.rmtree(staging, ignore_errors=True)
        tail = (done.stdout + done.stderr).strip().splitlines()[-5:]
        raise JarFetchFailed(
            f"mvn could not fetch Kafka {settings.version} (exit {done.returncode}): "
            + " | ".join(tail)
        )
    shutil.rmtree(lib_dir, ignore_errors=True)
    staging.rename(lib_dir)
    return lib_dir
