"""An applied configuration as a record on the compacted config topic.

One key, so compaction keeps exactly the latest apply. The record holds the document as the
operator wrote it (validated again by every worker, which may run another version), with who
applied it and when.
"""

import getpass
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from streams.config import Tunables
from streams.settings_loader import ConfigError, describe

KEY = b"tunables"


@dataclass(frozen=True)
class Applied:
    """A configuration document, who applied it, and when."""

    document: dict[str, Any]
    by: str = field(default_factory=getpass.getuser)
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def value(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def decode(cls, raw: bytes) -> "Applied":
        """ConfigError for a record that is not an applied configuration."""
        try:
            fields = json.loads(raw)
            return cls(dict(fields["document"]), str(fields["by"]), str(fields["at"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"bad configuration record: {exc}") from None

    def tunables(self) -> Tunables:
        """The document validated; ConfigError naming the bad field."""
        try:
            return Tunables.model_validate(self.document)
        except ValidationError as exc:
            raise ConfigError(f"bad configuration: {describe(exc, 'TMC_')}") from None
