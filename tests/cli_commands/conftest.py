"""Real workers for the commands that talk to Kafka (the pipeline tests' fixtures)."""

from tests.pipeline.conftest import env, fleet, start_worker, workers

__all__ = ["env", "fleet", "start_worker", "workers"]
