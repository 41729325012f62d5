"""The root of every typed error the service raises.

Each package (contract, strategies, streams) derives its own errors from
``TmcRecoveryError`` so the CLI and the worker can report any of them as one
clear line instead of a stack trace.
"""


class TmcRecoveryError(Exception):
    """An expected failure with a message fit for an operator."""
