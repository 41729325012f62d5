"""Why the local broker could not be fetched, started or stopped."""

from schemas.errors import TmcRecoveryError


class BrokerError(TmcRecoveryError):
    """The local broker failed in a way an operator can act on."""


class JavaNotFound(BrokerError):
    """No java executable where the settings point."""


class JavaTooOld(BrokerError):
    """Kafka 4.x needs Java 17 or newer."""


class MavenNotFound(BrokerError):
    """The jars are missing and there is no mvn to fetch them."""


class JarFetchFailed(BrokerError):
    """mvn ran but did not produce the broker's jars."""


class PortInUse(BrokerError):
    """A configured port is already bound by another process."""


class CorruptDataDir(BrokerError):
    """The data directory exists but is not a formatted KRaft log dir."""


class BrokerStartFailed(BrokerError):
    """The broker process exited or never became ready; carries its log tail."""

    def __init__(self, message: str, log_file: str, log_tail: str) -> None:
        super().__init__(f"{message} (log: {log_file})")
        self.log_file = log_file
        self.log_tail = log_tail
