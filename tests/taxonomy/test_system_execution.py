"""Tests of the system_execution detectors and of the shared tool-error classifier they use.

Payloads are adapted from real agent traces (TRAIL OpenTelemetry spans, Who&When AG2 logs): smolagents
browser pages titled "Error 403", requests HTTPErrors, FileConversionException/FileNotFoundError chains,
AG2 "exitcode: 1 (execution failed)" blocks, LiteLLM rate-limit and overload errors.
"""

from __future__ import annotations

import pytest

from taxonomy.detectors.system_execution._tool_errors import classify_call, classify_calls
from taxonomy.model import Item, ToolCall
from taxonomy.registry import discover

DETECTORS = discover()

BLOCKED_PAGE = (
    "Address: https://www.researchgate.net/publication/220944987_Supporting_menu_design_with_radial_layouts\n"
    "Title: Error 403\nViewport position: Showing page 1 of 4.\n=======================\n## Error 403\n\n"
    "<!DOCTYPE html><html><head><title>Just a moment...</title>"
)
SEARCH_OK = ToolCall(
    name="web_search",
    arguments={"query": "Pie Menus or Linear Menus, Which Is Better? 2015 DBLP"},
    output="## Web Results\n1. [Pie Menus or Linear Menus, Which Is Better?](https://dblp.org/rec/x)\n"
    "Published in 2015 by Pietro Murano and Iram N. Khan.",
)
MISSING_AUDIO = (
    "FileConversionException: Could not convert 'data/gaia/validation/1f975693.mp3' to Markdown. File type was "
    "recognized as ['.mp3']. While converting the file, the following error was encountered:\n\nTraceback (most "
    'recent call last):\n  File "scripts/mdconvert.py", line 141, in convert\n    with open(local_path, "rt") as '
    "fh:\nFileNotFoundError: [Errno 2] No such file or directory: 'data/gaia/validation/1f975693.mp3'"
)
SOURCE_LISTING = (
    "def clean_tests(path):\n    try:\n        shutil.rmtree(path)\n    # in py36 it's FileNotFoundError\n"
    "    except OSError:\n        click.echo(f'Directory {path!r} does not exist. Skipping...')\n"
    "    raise PermissionError if locked else None\n"
)


def run(subcategory: str, *calls: ToolCall, **fields) -> object:
    item = Item(input="Find the metadata of the paper.", output="Done.", tool_calls=calls, **fields)
    return DETECTORS[subcategory].detect(item)


@pytest.mark.parametrize(
    ("call", "kind", "detail"),
    [
        (ToolCall(name="visit_page", output=BLOCKED_PAGE), "auth", "http_403"),
        (
            ToolCall(
                name="bing",
                error="requests.exceptions.HTTPError: 401 Client Error: PermissionDenied for url: "
                "https://api.bing.microsoft.com/v7.0/search?q=Metropolitan+Museum",
            ),
            "auth",
            "http_401",
        ),
        (ToolCall(name="gh", output={"error": {"code": 404, "message": "Not Found"}}), "not_found", "http_404"),
        (ToolCall(name="inspect_file_as_text", error=MISSING_AUDIO), "not_found", "not_found_message"),
        (ToolCall(name="api", output={"status": 500}), "upstream", "http_500"),
        (ToolCall(name="python", output="exitcode: 124 (execution failed)\nCode output: \nTimeout"), "upstream", None),
        (ToolCall(name="api", status_code=429, output="Slow down"), "quota", "http_429"),
        (
            ToolCall(name="gh", status_code=403, output={"message": "API rate limit exceeded for 10.0.0.1."}),
            "quota",
            None,
        ),
        (
            ToolCall(name="llm", status_code=400, output={"error": {"code": "context_length_exceeded"}}),
            "quota",
            None,
        ),
        (ToolCall(name="llm", error="KeyError: 'OPENAI_API_KEY'"), "environment", None),
        (ToolCall(name="sh", output="bash: jq: command not found"), "environment", None),
        (ToolCall(name="page_down", error="TypeError: forward() got an unexpected keyword argument ''"), "other", None),
        (ToolCall(name="x", output={"observation": "name 'hours' is not defined", "success": False}), "other", None),
    ],
    ids=[
        "browser-403",
        "requests-401",
        "dict-404",
        "file-not-found-chain",
        "dict-status-500",
        "ag2-timeout",
        "status-429",
        "github-403-rate-limit",
        "openai-context-length",
        "missing-env-key",
        "command-not-found",
        "unexpected-kwarg",
        "success-false",
    ],
)
def test_classifier_kinds(call: ToolCall, kind: str, detail: str | None) -> None:
    found = classify_call(call)
    assert found is not None
    assert found.kind == kind
    if detail is not None:
        assert found.detail == detail
    assert found.snippet


@pytest.mark.parametrize(
    "call",
    [
        SEARCH_OK,
        ToolCall(name="cat", output=SOURCE_LISTING),
        ToolCall(name="web_search", output="1. [Error 404 - Page not found](https://x)\nRate limits explained"),
        ToolCall(name="api", status_code=200, output={"status": "ok", "items": [1, 2]}),
        ToolCall(name="noop", output=None),
        ToolCall(name="list", output=[{"error": "this is data, not a failure"}]),
        ToolCall(name="get_order", output={"id": 7, "customer": "A. Li", "total": 30, "items": [], "status": "failed"}),
    ],
    ids=["search-results", "source-code", "error-words", "status-200", "none-output", "list-output", "data-status"],
)
def test_classifier_successes(call: ToolCall) -> None:
    assert classify_call(call) is None


def test_classify_calls_does_not_reuse_results_of_equal_but_different_tuples() -> None:
    first = (ToolCall(name="a", status_code=500),)
    second = (ToolCall(name="a", status_code=404),)
    assert classify_calls(first)[0].kind == "upstream"
    assert classify_calls(second)[0].kind == "not_found"
    assert classify_calls(first)[0].kind == "upstream"


def test_auth_permission_error_browser_403() -> None:
    finding = run("auth_permission_error", SEARCH_OK, ToolCall(name="visit_page", output=BLOCKED_PAGE))
    assert finding.decision == "fail"
    assert finding.evidence[0].source == "tool_calls[1]"
    assert "Error 403" in finding.evidence[0].content_snippet
    assert finding.evidence[0].metadata["status_code"] == 403


def test_auth_permission_error_passes_on_blocked_content_words() -> None:
    page = ToolCall(
        name="visit_page", output="Address: https://owasp.org\nTitle: 401 vs 403 explained\nForbidden means"
    )
    assert run("auth_permission_error", SEARCH_OK, page).decision == "pass"


def test_auth_permission_error_rate_limit_403_is_not_auth() -> None:
    call = ToolCall(name="gh", status_code=403, output={"message": "API rate limit exceeded for 10.0.0.1."})
    assert run("auth_permission_error", call).decision == "pass"
    assert run("quota_or_capacity_exceeded", call).decision == "fail"


def test_resource_not_found_dict_payload() -> None:
    call = ToolCall(
        name="github_get_issue", arguments={"number": 9533}, output={"error": {"code": 404, "message": "Not Found"}}
    )
    finding = run("resource_not_found", SEARCH_OK, call)
    assert finding.decision == "fail"
    assert finding.evidence[0].source == "tool_calls[1]"
    assert finding.evidence[0].metadata["status_code"] == 404
    assert "Not Found" in finding.evidence[0].content_snippet


def test_resource_not_found_file_missing_in_traceback() -> None:
    finding = run("resource_not_found", ToolCall(name="inspect_file_as_text", error=MISSING_AUDIO))
    assert finding.decision == "fail"
    assert "NotFound" in finding.evidence[0].content_snippet or "No such file" in finding.evidence[0].content_snippet


def test_resource_not_found_passes_on_source_code_mentioning_errors() -> None:
    assert run("resource_not_found", ToolCall(name="cat", output=SOURCE_LISTING)).decision == "pass"


def test_upstream_service_error_connection_aborted() -> None:
    call = ToolCall(
        name="visit_page",
        arguments={"url": "https://www.washingtonpost.com/nation/2021/06/29/"},
        error="Error: ('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))",
    )
    finding = run("upstream_service_error", SEARCH_OK, call)
    assert finding.decision == "fail"
    assert finding.evidence[0].source == "tool_calls[1]"
    assert "Connection aborted" in finding.evidence[0].content_snippet


def test_upstream_service_error_lower_severity_after_successful_retry() -> None:
    failed = ToolCall(
        name="fetch", arguments={"url": "https://api.example.com"}, status_code=503, output="Service Unavailable"
    )
    retried = ToolCall(name="fetch", arguments={"url": "https://api.example.com"}, status_code=200, output="{}")
    alone = run("upstream_service_error", failed, SEARCH_OK)
    recovered = run("upstream_service_error", failed, retried)
    assert alone.decision == recovered.decision == "fail"
    assert recovered.severity < alone.severity


def test_upstream_service_error_passes_on_success() -> None:
    assert run("upstream_service_error", SEARCH_OK).decision == "pass"


def test_quota_or_capacity_exceeded_litellm_rate_limit() -> None:
    call = ToolCall(
        name="llm_step",
        error="AgentGenerationError: Error in generating model output: litellm.RateLimitError: "
        "AnthropicException - {'type': 'error', 'error': {'type': 'rate_limit_error'}}",
    )
    finding = run("quota_or_capacity_exceeded", call)
    assert finding.decision == "fail"
    assert finding.evidence[0].source == "tool_calls[0]"
    assert "RateLimitError" in finding.evidence[0].content_snippet


def test_quota_or_capacity_exceeded_status_field() -> None:
    finding = run("quota_or_capacity_exceeded", ToolCall(name="search", status_code=429, output=None))
    assert finding.decision == "fail"
    assert finding.evidence[0].metadata["status_code"] == 429


def test_quota_or_capacity_exceeded_passes_on_success() -> None:
    assert run("quota_or_capacity_exceeded", SEARCH_OK).decision == "pass"


def test_environment_misconfiguration_missing_module() -> None:
    output = (
        "exitcode: 1 (execution failed)\nCode output: Traceback (most recent call last):\n"
        '  File "identify_bird_species.py", line 5, in <module>\n    import tensorflow as tf\n'
        "ModuleNotFoundError: No module named 'tensorflow'\n"
    )
    finding = run("environment_misconfiguration", ToolCall(name="python", output=output))
    assert finding.decision == "fail"
    assert finding.evidence[0].source == "tool_calls[0]"
    assert "No module named 'tensorflow'" in finding.evidence[0].content_snippet


def test_environment_misconfiguration_tool_definition_mismatch() -> None:
    tools = [
        {
            "type": "function",
            "function": {"name": "search", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}},
        }
    ]
    call = ToolCall(
        name="search",
        arguments={"q": "weather"},
        error="TypeError: SearchTool.forward() got an unexpected keyword argument 'q'",
    )
    finding = run("environment_misconfiguration", call, metadata={"tools": tools})
    assert finding.decision == "fail"
    assert finding.evidence[0].evidence_type == "tool_definition_mismatch"
    assert "'q'" in finding.evidence[0].content_snippet


def test_environment_misconfiguration_unsure_on_tool_internal_bug() -> None:
    call = ToolCall(
        name="inspect_file_as_text",
        arguments={"file_path": "sciadv.abi8620.pdf"},
        error="UnboundLocalError: cannot access local variable 'res' where it is not associated with a value",
    )
    finding = run("environment_misconfiguration", call)
    assert finding.decision == "unsure"
    assert finding.evidence[0].source == "tool_calls[0]"


def test_environment_misconfiguration_passes_on_http_errors() -> None:
    assert run("environment_misconfiguration", ToolCall(name="visit_page", output=BLOCKED_PAGE)).decision == "pass"


@pytest.mark.parametrize(
    "call",
    [
        ToolCall(name="", arguments=None, output=None, status_code=None, error=None),
        ToolCall(name="x", arguments=["a", 1], output=12345, status_code=0, error=""),
        ToolCall(name="x", arguments={"a": {"b": [1, 2]}}, output={"error": None, "status": "ok"}),
        ToolCall(name="x", output={"error": {"error": {"error": {"error": "deep"}}}}),
        ToolCall(name="x", output="Error: " + "x" * 300_000, error="Traceback (most recent call last)\n" * 10_000),
    ],
    ids=["all-none", "odd-types", "nested-ok", "nested-error", "huge"],
)
def test_system_execution_detectors_never_raise(call: ToolCall) -> None:
    for subcategory in (
        "auth_permission_error",
        "resource_not_found",
        "upstream_service_error",
        "quota_or_capacity_exceeded",
        "environment_misconfiguration",
    ):
        finding = run(subcategory, call)
        assert finding.decision in ("pass", "fail", "unsure")


def test_system_execution_detectors_decide_on_huge_payloads() -> None:
    junk = "Error: timeout rate limit permission denied not found 429 " * 20_000
    calls = tuple(ToolCall(name=f"t{i}", output=junk, error=junk[:100_000]) for i in range(5))
    for subcategory in ("auth_permission_error", "resource_not_found", "environment_misconfiguration"):
        finding = DETECTORS[subcategory].detect(Item(output="ok", tool_calls=calls))
        assert finding.decision in ("pass", "fail", "unsure"), subcategory
