"""The Go design's health rules, each on its own."""

from streams.api.health import HealthInputs, assess


def inputs(**changes: object) -> HealthInputs:
    base: dict[str, object] = {
        "consuming": True,
        "running": 0,
        "max_concurrent": 5,
        "attempts": 10,
        "successes": 10,
        "failures": 0,
    }
    return HealthInputs(**{**base, **changes})  # type: ignore[arg-type]


def test_healthy_when_consuming_below_capacity_and_succeeding() -> None:
    verdict = assess(inputs(running=4))
    assert (verdict["status"], verdict["reasons"]) == ("Healthy", [])
    assert verdict["details"]["successRate"] == 1.0


def test_a_fresh_worker_with_no_ending_yet_is_healthy() -> None:
    assert assess(inputs(attempts=0, successes=0))["status"] == "Healthy"


def test_at_capacity_is_degraded() -> None:
    verdict = assess(inputs(running=5))
    assert verdict["status"] == "Degraded"
    assert verdict["reasons"] == ["at capacity: 5 of 5 running"]


def test_success_rate_below_0_8_is_degraded_and_below_0_5_unhealthy() -> None:
    assert assess(inputs(successes=8, failures=2))["status"] == "Healthy"  # exactly 0.8
    assert assess(inputs(successes=7, failures=3))["status"] == "Degraded"
    assert assess(inputs(successes=1, failures=1))["status"] == "Degraded"  # exactly 0.5
    unhealthy = assess(inputs(successes=2, failures=3))
    assert unhealthy["status"] == "Unhealthy"
    assert unhealthy["details"]["successRate"] == 0.4


def test_not_consuming_is_unhealthy_whatever_the_figures() -> None:
    verdict = assess(inputs(consuming=False))
    assert verdict["status"] == "Unhealthy"
    assert verdict["reasons"] == ["not consuming: out of the group, or tables not recovered"]
