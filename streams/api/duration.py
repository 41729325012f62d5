"""Durations as Go's ``time.Duration.String()`` prints them, rounded to the second.

The Go design's ``GetRecoveryStatus`` reports each active recovery's age that way ("45s",
"1m25s", "2h0m5s"), and clients written against it parse it with ``time.ParseDuration``.
"""


def go_duration(seconds: float) -> str:
    """``seconds`` rounded to the nearest second, in Go's format; negative ages (clock skew
    between workers) read as ``0s`` rather than a negative duration."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"
