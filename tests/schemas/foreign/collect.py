"""Regenerate fingerprints.json: what other Avro libraries compute for every shipped schema.

Runs the Go program beside this file (goavro and hamba/avro), Fingerprints.java (Apache Avro for
Java), and the Apache ``avro`` Python package, and prints one JSON document. See README.md.

    .venv/bin/python tests/schemas/foreign/collect.py --avro-jars <dir of avro 1.12 jars> \\
        > tests/schemas/foreign/fingerprints.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import avro.schema

HERE = Path(__file__).resolve().parent
SCHEMAS = HERE.parents[2] / "schemas" / "avro"


def _run(*command: str) -> str:
    return subprocess.run(command, cwd=HERE, capture_output=True, text=True, check=True).stdout


def _go_module(name: str) -> str:
    for line in (HERE / "go.mod").read_text().splitlines():
        parts = line.split()
        if parts and parts[0] == name:
            return parts[1]
    raise SystemExit(f"{name} is not in go.mod")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--avro-jars", required=True, help="folder with avro-1.12.x.jar and deps")
    args = parser.parse_args()

    go = {(v["family"], v["version"]): v for v in json.loads(_run("go", "run", ".", str(SCHEMAS)))}
    java_cp = f"{Path(args.avro_jars).resolve()}/*"
    java_lines = _run("java", "-cp", java_cp, "Fingerprints.java", str(SCHEMAS)).splitlines()
    java = {(v["family"], v["version"]): v for v in map(json.loads, java_lines)}
    jar = next(Path(args.avro_jars).glob("avro-1.*.jar")).name

    versions: list[dict[str, Any]] = []
    for path in sorted(SCHEMAS.glob("*/v*.avsc")):
        key = (path.parent.name, path.stem)
        schema = avro.schema.parse(path.read_text(encoding="utf-8"))
        versions.append(
            {
                "family": key[0],
                "version": key[1],
                "java": {"fingerprint": java[key]["fingerprint"]},
                "goavro": go[key]["goavro"],
                "hamba": go[key]["hamba"],
                "avro-py": {
                    "canonical": schema.canonical_form,
                    "fingerprint": schema.fingerprint("CRC-64-AVRO").hex(),
                },
            }
        )
    java_version = subprocess.run(
        ["java", "-version"], capture_output=True, text=True, check=True
    ).stderr.splitlines()[0]
    produced_by = {
        "command": "python tests/schemas/foreign/collect.py --avro-jars <dir> (README.md)",
        "go": _run("go", "env", "GOVERSION").strip(),
        "goavro": f"github.com/linkedin/goavro/v2 {_go_module('github.com/linkedin/goavro/v2')}",
        "hamba": f"github.com/hamba/avro/v2 {_go_module('github.com/hamba/avro/v2')}",
        "java": f"{java_version}; org.apache.avro {jar}",
        "avro-py": f"avro {version('avro')} (Python {sys.version.split()[0]})",
        "fingerprint": "CRC-64-AVRO, hex, in single-object header byte order (little-endian)",
        "single_object": "C3 01 + fingerprint + body of a sample record (last union branch, "
        "second enum symbol, one array item / map entry), hex",
    }
    json.dump({"produced_by": produced_by, "versions": versions}, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
