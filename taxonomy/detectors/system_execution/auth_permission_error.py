"""Tool calls that failed authentication or authorisation: HTTP 401/403/407 or an auth error payload.

Reads each call's status_code, error and output through the shared classifier (_tool_errors.py): status
codes in the field or in the text ("HTTPError: 401 Client Error", "Title: Error 403"), and messages such as
"Unauthorized", "Forbidden", "invalid api key", "token expired", "access denied", "not subscribed to this
API". Blind spots: failures reported only in prose by the agent rather than in the tool result; a 403 that
is really a rate limit is reported as quota when the message says so; a *missing* API key is reported as
environment_misconfiguration instead.
"""

from __future__ import annotations

from taxonomy.detectors.system_execution._tool_errors import kind_finding
from taxonomy.model import Finding, Item
from taxonomy.registry import detector

DEFAULT_IMPACT = 4


@detector("auth_permission_error", needs=("tool_calls",))
def detect(item: Item) -> Finding:
    return kind_finding(
        item.tool_calls, "auth", default_impact=DEFAULT_IMPACT, what="an authentication/permission error"
    )
