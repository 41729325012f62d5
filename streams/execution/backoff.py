"""Retry delays: exponential, capped and jittered, so failures across a fleet spread out."""

import random

from streams.config import RetrySettings


def retry_delay(attempt: int, settings: RetrySettings, rng: random.Random) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based) before the next one.

    ``base * multiplier**(attempt-1)``, capped at ``max_delay``, then spread by ± ``jitter``
    of itself. Pure apart from the ``rng`` it is given.
    """
    exponent = max(attempt - 1, 0)
    try:
        raw = settings.base_delay_s * settings.multiplier**exponent
    except OverflowError:
        raw = settings.max_delay_s
    capped = min(raw, settings.max_delay_s)
    spread = capped * settings.jitter * rng.uniform(-1.0, 1.0)
    return max(capped + spread, 0.0)
