"""Plans: which analysis tiers an API key may use (README "Tenants and keys")."""

from __future__ import annotations

from workers.settings import Tier

PLANS: dict[str, tuple[Tier, ...]] = {
    "free": ("rule_based",),
    "pro": ("rule_based", "fast_llm", "full_llm"),
    "enterprise": ("rule_based", "fast_llm", "full_llm", "deep"),
}
DEFAULT_PLAN = "enterprise"  # a self-hosted operator's own keys may use every tier unless they say otherwise


def tiers_of(plan: str) -> frozenset[str]:
    return frozenset(PLANS[plan])
