"""Keys and certificates for test apiservers, made with the openssl CLI.

A CA signs one serving certificate for 127.0.0.1, so clients verify TLS for real
instead of turning verification off. EC P-256 keys: generating them takes milliseconds.
"""

import subprocess
from dataclasses import dataclass
from pathlib import Path

DAYS = "7"


@dataclass(frozen=True)
class ServingPki:
    ca: Path
    cert: Path
    key: Path


def private_key(path: Path) -> Path:
    """An EC key in SEC1 form, the one the apiserver reads as a service-account key too."""
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", path)
    return path


def serving_pki(directory: Path) -> ServingPki:
    pki = ServingPki(directory / "ca.crt", directory / "serving.crt", directory / "serving.key")
    ca_key = private_key(directory / "ca.key")
    # fmt: off
    _openssl(
        "req", "-x509", "-new", "-key", ca_key, "-subj", "/CN=tmc-recovery test CA",
        "-days", DAYS, "-out", pki.ca,
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )
    _openssl(
        "req", "-x509", "-new", "-key", private_key(pki.key), "-subj", "/CN=127.0.0.1",
        "-CA", pki.ca, "-CAkey", ca_key, "-days", DAYS, "-out", pki.cert,
        "-addext", "basicConstraints=critical,CA:FALSE",
        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-addext", "extendedKeyUsage=serverAuth",
    )
    # fmt: on
    return pki


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)
