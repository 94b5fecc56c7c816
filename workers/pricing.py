"""What an analysis costs: USD per model from token usage, and credits per tier.

Prices are USD per million tokens (input, output), list prices at the time of writing; a model is
matched by the longest known prefix (so dated snapshots like "gpt-4o-mini-2024-07-18" match). Extra or
corrected prices come from the LLM_PRICES setting ("model=input:output,..."). A model with no known
price (a local vLLM/Ollama model, say) has cost None, never a made-up number.

Credits follow the ThinkHive seed: rule_based 0, fast_llm 0.5, full_llm 1, deep 2 per analysed item.
"""

from __future__ import annotations

DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5": (1.25, 10.00),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-haiku-4-5": (1.00, 5.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-opus-4": (15.00, 75.00),
}

TIER_CREDITS: dict[str, float] = {"rule_based": 0.0, "fast_llm": 0.5, "full_llm": 1.0, "deep": 2.0}


class PriceSettingError(ValueError):
    """LLM_PRICES holds an entry that is not model=input:output with two numbers."""


def parse_prices(setting: str) -> dict[str, tuple[float, float]]:
    """The default table overlaid with the LLM_PRICES setting."""
    prices = dict(DEFAULT_PRICES)
    for entry in (part.strip() for part in setting.split(",")):
        if not entry:
            continue
        model, _, pair = entry.partition("=")
        given, _, taken = pair.partition(":")
        try:
            prices[model.strip()] = (float(given), float(taken))
        except ValueError:
            raise PriceSettingError(
                f"LLM_PRICES entry {entry!r} is not model=input:output (USD per 1M tokens)"
            ) from None
    return prices


def price_of(model: str | None, prices: dict[str, tuple[float, float]] | None = None) -> tuple[float, float] | None:
    """(input, output) USD per million tokens for `model`, by longest matching prefix; None when unknown."""
    if not model:
        return None
    table = DEFAULT_PRICES if prices is None else prices
    matches = [name for name in table if model == name or model.startswith(name + "-")]
    return table[max(matches, key=len)] if matches else None


def run_cost(
    model: str | None, input_tokens: int, output_tokens: int, prices: dict[str, tuple[float, float]] | None = None
) -> float | None:
    """USD for the tokens a run used; 0.0 without tokens, None when the model's price is unknown."""
    if input_tokens == 0 and output_tokens == 0:
        return 0.0
    price = price_of(model, prices)
    if price is None:
        return None
    return round((input_tokens * price[0] + output_tokens * price[1]) / 1_000_000, 6)


def tier_credits(tier: str, items: int) -> float:
    """Credits an analysis of `items` items costs in `tier`."""
    return TIER_CREDITS[tier] * items
