"""The execution tests' executor factory and recorder, for the executor under the switches."""

from tests.execution.conftest import make_executor, recorder

__all__ = ["make_executor", "recorder"]
