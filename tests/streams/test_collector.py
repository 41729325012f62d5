"""The worker's cyclic-collector tuning (streams/pipeline.py)."""

import gc

from streams.pipeline import GC_YOUNG_THRESHOLD, tune_collector


def test_the_worker_collects_young_objects_less_often_and_keeps_the_older_thresholds() -> None:
    before = gc.get_threshold()
    try:
        tune_collector()
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, before[1], before[2])
        assert before[0] < GC_YOUNG_THRESHOLD
    finally:
        gc.set_threshold(*before)
