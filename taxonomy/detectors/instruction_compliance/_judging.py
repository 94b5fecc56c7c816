"""Turning checked constraints/rules into a Finding: shared by task_constraint_violation and
system_policy_violation.

Each miss yields two evidence items: the rule as written (source "input" or "system_prompt") and the
answer where it is missed (source "output"). Checks that could not be judged are named in the rationale.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from taxonomy.detectors.instruction_compliance._constraint_checks import Answer, Check
from taxonomy.model import Evidence, Finding
from taxonomy.text import snippet


class Rule(Protocol):
    """Anything stated in a prompt that can be checked: a Constraint or a policy rule."""

    @property
    def kind(self) -> str: ...

    @property
    def quote(self) -> str: ...

    @property
    def start(self) -> int: ...


def constraint_evidence(
    misses: Sequence[tuple[Rule, Check]], request_text: str, request_source: str, output: str
) -> tuple[Evidence, ...]:
    """Two evidence items per miss: the constraint as written, and the answer where it is missed."""
    evidence: list[Evidence] = []
    for constraint, check in misses:
        start = constraint.start
        evidence.append(
            Evidence(
                evidence_type="constraint",
                description=f"Constraint stated ({constraint.kind}).",
                source=request_source,
                content_snippet=snippet(request_text, start, start + len(constraint.quote), radius=40),
                metadata={"start": start, "end": start + len(constraint.quote), "kind": constraint.kind},
            )
        )
        evidence.append(
            Evidence(
                evidence_type=check.evidence_type,
                description=check.description,
                source="output",
                content_snippet=snippet(output, *check.span),
                confidence=check.confidence,
                metadata={"start": check.span[0], "end": check.span[1], "kind": constraint.kind},
            )
        )
    return tuple(evidence)


def judge(
    rules: Sequence[Rule],
    check_rule: Callable[[Rule, Answer], Check | None],
    output: str,
    request_text: str,
    request_source: str,
    what: str,
) -> Finding:
    """Check every rule against the answer and turn the misses into a Finding."""
    answer = Answer(output)
    constraints = rules
    results = [(c, check) for c in rules if (check := check_rule(c, answer)) is not None]
    skipped = [(c, check) for c, check in results if check.status == "skipped"]
    misses = [(c, check) for c, check in results if check.status != "skipped"]
    failures = [(c, check) for c, check in misses if check.status == "fail"]
    if not misses:
        judged = sorted({c.kind for c in constraints} - {c.kind for c, _ in skipped})
        not_judged = "; ".join(f"{c.kind} not judged: {check.description}" for c, check in skipped)
        if not judged:
            return Finding.passed(f"No {what} could be judged on this answer ({not_judged}).", confidence=0.3)
        note = f" ({not_judged})" if skipped else ""
        return Finding.passed(f"Checked {what}(s) met: {', '.join(judged)}{note}.", confidence=0.8)
    shown = failures or misses
    rationale = f"{len(failures) or len(misses)} of {len(constraints)} {what}(s) " + (
        "not met: " if failures else "possibly not met: "
    )
    rationale += " ".join(check.description for _, check in shown)
    evidence = constraint_evidence(shown, request_text, request_source, output)
    if not failures:
        severity = max(check.severity for _, check in misses)
        return Finding(decision="unsure", severity=severity, confidence=0.5, evidence=evidence, rationale=rationale)
    return Finding(
        decision="fail",
        severity=max(check.severity for _, check in failures),
        confidence=max(check.confidence for _, check in failures),
        evidence=evidence,
        rationale=rationale,
    )
