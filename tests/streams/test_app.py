"""The Faust app as the worker builds it (streams/app.py), checked without a broker."""

from faust.types import TP

from streams.app import create_app
from streams.config import ServiceSettings


def test_faust_monitor_is_not_a_sensor_but_still_answers_the_consumer() -> None:
    """Faust's per-record statistics are off; the consumer's direct calls still land."""
    app = create_app(ServiceSettings())
    list(app.on_init_dependencies())  # what starting the app does first
    assert app.monitor not in set(app.sensors)
    app.monitor.track_tp_end_offset(TP("tmc.errors", 0), 10)
    assert app.monitor.tp_end_offsets[TP("tmc.errors", 0)] == 10
