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


def test_repr_masks_the_llm_key() -> None:
    assert "sk-live-123" not in repr(Settings(llm_provider="openai", llm_api_key="sk-live-123"))


def test_default_tier_is_fast_llm_only_with_a_provider() -> None:
    assert Settings().resolved_default_tier == "rule_based"
    assert Settings(llm_provider="anthropic").resolved_default_tier == "fast_llm"
    assert Settings(llm_provider="anthropic", default_tier="deep").resolved_default_tier == "deep"
    assert Settings(llm_provider="anthropic").resolved_llm_model == "claude-haiku-4-5"
    assert Settings(llm_provider="openai", llm_model="llama3.1:8b").resolved_llm_model == "llama3.1:8b"


def test_judge_retries_must_fit_inside_the_job_timeout() -> None:
    with pytest.raises(SettingsError, match="job_timeout_s"):
        Settings.from_env({"LLM_PROVIDER": "openai", "LLM_TIMEOUT_S": "60", "LLM_MAX_RETRIES": "5"})
    assert Settings.from_env({"LLM_PROVIDER": "openai", "LLM_TIMEOUT_S": "60", "JOB_TIMEOUT_S": "900"})


def test_a_bad_webhook_retry_schedule_is_refused_at_start_up() -> None:
    with pytest.raises(SettingsError, match="webhook_retry_schedule_s"):
        Settings.from_env({"WEBHOOK_RETRY_SCHEDULE_S": "5,soon"})
    assert Settings.from_env({"WEBHOOK_RETRY_SCHEDULE_S": "0.5, 2"}).webhook_retry_schedule_s == "0.5, 2"
