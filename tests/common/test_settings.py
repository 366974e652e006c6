"""Settings rules that protect deployments."""

from __future__ import annotations

import pytest

from wacrm_common.settings import Settings


@pytest.mark.parametrize(
    "secret",
    [None, "short", "change-me-to-at-least-32-random-bytes", "CHANGE_ME_at_least_32_random_bytes"],
)
def test_settings_jwt_key_refuses_missing_short_or_example_secrets(secret: str | None) -> None:
    with pytest.raises(RuntimeError, match="JWT_SECRET"):
        Settings(jwt_secret=secret).jwt_key()


def test_settings_jwt_key_returns_a_real_secret() -> None:
    secret = "k3J9s8Qw1vT0pX7mZ2aB5nC4dE6fG8hJ"
    assert Settings(jwt_secret=secret).jwt_key() == secret
