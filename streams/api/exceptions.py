"""Why the API could not answer: each maps to one HTTP status in streams/api/server.py."""

from schemas.errors import TmcRecoveryError


class ApiBindError(TmcRecoveryError):
    """The API's address is taken or not this machine's: the worker does not start."""


class ApiError(TmcRecoveryError):
    """A request the API cannot answer; ``status`` is the HTTP status it gets."""

    status = 500


class BadRequest(ApiError):
    """A malformed query: an unknown state, a bad timestamp, a cursor this API never gave."""

    status = 400


class Unauthorized(ApiError):
    """No bearer token, or one that matches no user."""

    status = 401


class Forbidden(ApiError):
    """A known user whose role is too low, or no token configured at all."""

    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    """The recovery's state forbids the change (a terminal row is final)."""

    status = 409


class NotServing(ApiError):
    """This worker cannot answer for a partition now (a rebalance or table recovery is in
    flight): the caller retries, and by then the key's owner is known again."""

    status = 503


class PeerUnavailable(ApiError):
    """A worker that owns part of the answer did not reply; a partial answer would
    understate fleet-wide counts, so none is given."""

    status = 502


class Relayed(ApiError):
    """The refusal of the worker a request was routed to, passed on as it came."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
