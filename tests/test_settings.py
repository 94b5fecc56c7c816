"""Settings come from the environment once, refuse bad values by name, and mask secrets."""

from __future__ import annotations

import pytest

from workers.settings import Settings, SettingsError


def test_settings_read_upper_case_env_names_and_coerce_types() -> None:
    settings = Settings.from_env({"CHUNK_SIZE": "25", "LOG_JSON": "true", "REDIS_URL": "redis://r:1/2", "IGNORED": "x"})
    assert settings.chunk_size == 25 and settings.log_json is True and settings.redis_url == "redis://r:1/2"


@pytest.mark.parametrize(("name", "value"), [("CHUNK_SIZE", "0"), ("PORT", "http"), ("ENV", "staging")])
def test_invalid_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name.lower()):
        Settings.from_env({name: value})


def test_repr_masks_the_api_key_and_redis_credentials() -> None:
    shown = repr(Settings(api_key="vq_secret_value", redis_url="redis://:hunter2@db:6379/0"))
    assert "vq_secret_value" not in shown and "hunter2" not in shown


def test_dev_mode_only_without_a_key() -> None:
    assert Settings(env="dev").dev_mode is True
    assert Settings(env="dev", api_key="vq_x").dev_mode is False
    assert Settings(env="prod").dev_mode is False
