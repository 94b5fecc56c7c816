"""Pricing: USD from token usage by model (longest prefix, overridable), credits per tier."""

from __future__ import annotations

import pytest

from workers.pricing import PriceSettingError, parse_prices, price_of, run_cost, tier_credits


def test_a_dated_snapshot_is_priced_as_its_model_and_the_longest_prefix_wins() -> None:
    assert price_of("gpt-4o-mini-2024-07-18") == (0.15, 0.60)
    assert price_of("gpt-4o-2024-08-06") == (2.50, 10.00)
    assert price_of("gpt-4o-mini") != price_of("gpt-4o")


def test_unknown_models_have_no_price_rather_than_a_made_up_one() -> None:
    assert price_of("llama3.1:8b") is None
    assert run_cost("llama3.1:8b", 1000, 100) is None
    assert run_cost("llama3.1:8b", 0, 0) == 0.0


def test_cost_is_input_and_output_tokens_at_their_prices() -> None:
    assert run_cost("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.75)
    assert run_cost("claude-haiku-4-5", 2_000, 1_000) == pytest.approx(0.002 + 0.005)


def test_the_setting_adds_and_overrides_prices_and_rejects_garbage() -> None:
    prices = parse_prices("llama3.1=0.1:0.2, gpt-4o-mini=1:2")
    assert price_of("llama3.1", prices) == (0.1, 0.2)
    assert price_of("gpt-4o-mini", prices) == (1.0, 2.0)
    with pytest.raises(PriceSettingError, match="model=input:output"):
        parse_prices("gpt-4o-mini=cheap")


def test_credits_follow_the_thinkhive_tiers() -> None:
    assert [tier_credits(t, 10) for t in ("rule_based", "fast_llm", "full_llm", "deep")] == [0, 5, 10, 20]
