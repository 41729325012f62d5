"""Bearer tokens per user with a role: 401 for a missing or unknown token, 403 for a role too
low, and every change refused when no token is configured."""

import pytest
from pydantic import SecretStr

from streams.api.auth import Role, authorize
from streams.api.exceptions import Forbidden, Unauthorized
from streams.config import ApiToken

TOKENS = {
    "alice": ApiToken(token=SecretStr("alice-token-0123456789"), role="operate"),
    "bob": ApiToken(token=SecretStr("bob-token-0123456789ab"), role="read"),
    "carol": ApiToken(token=SecretStr("carol-token-0123456789"), role="approve"),
}


def test_a_token_names_its_user_when_the_role_suffices() -> None:
    assert authorize("Bearer alice-token-0123456789", TOKENS, Role.OPERATE) == "alice"
    assert authorize("bearer carol-token-0123456789", TOKENS, Role.OPERATE) == "carol"
    assert authorize("Bearer bob-token-0123456789ab", TOKENS, Role.READ) == "bob"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer  ",
        "Basic alice-token-0123456789",
        "Bearer alice-token-012345678",
    ],
)
def test_a_missing_or_unknown_token_is_unauthorized(header: str | None) -> None:
    with pytest.raises(Unauthorized):
        authorize(header, TOKENS, Role.READ)


def test_a_role_too_low_is_forbidden() -> None:
    with pytest.raises(Forbidden, match="bob \\(read\\) may not do this: it needs operate"):
        authorize("Bearer bob-token-0123456789ab", TOKENS, Role.OPERATE)
    with pytest.raises(Forbidden, match="needs approve"):
        authorize("Bearer alice-token-0123456789", TOKENS, Role.APPROVE)


def test_with_no_token_configured_every_change_is_refused() -> None:
    with pytest.raises(Forbidden, match=r"no api\.tokens"):
        authorize("Bearer alice-token-0123456789", {}, Role.READ)


def test_a_short_token_is_refused_in_the_settings() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        ApiToken(token=SecretStr("short"), role="operate")
