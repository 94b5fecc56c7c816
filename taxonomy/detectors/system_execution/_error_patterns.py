"""Regexes of the shared tool-error classifier (_tool_errors.py), one per error family.

All are compiled once and are linear-time: alternations of literals with bounded repeats only. They are
applied, in the precedence order of _tool_errors.py, to the windowed error texts of calls already judged
failed by _error_signals.py.
"""

from __future__ import annotations

import re

UNKNOWN_TOOL_RE = re.compile(
    r"\b(?:unknown|unsupported|unrecognized|invalid|no such) (?:tool|function|action)\b"
    r"|\b(?:tool|function|action)\s+['\"`]?[\w.-]{1,80}['\"`]?\s+(?:is not|was not|not)"
    r" (?:found|available|defined|registered|recognized|supported)"
    r"|\bnot a valid tool\b|\bis not a valid (?:tool|function)"
    r"|not permitted to evaluate other functions than the provided tools",
    re.IGNORECASE,
)
ENVIRONMENT_RE = re.compile(
    r"ModuleNotFoundError|No module named\b|ImportError\b|cannot import name"
    r"|\b(?:is not|not) installed\b|command not found|is not recognized as an internal or external command"
    r"|executable file not found|shared object file: No such file|DLL load failed"
    r"|\[Errno 13\]|PermissionError\b|\bEACCES\b|:\s*Permission denied\s*$|Read-only file system"
    r"|(?-i:KeyError:\s*['\"][A-Z][A-Z0-9_]{0,60}(?:KEY|TOKEN|SECRET|PASSWORD|URL|URI|HOST|ENDPOINT|REGION|HOME)['\"])"
    r"|(?:environment variable|env var)s?\b[^\n]{0,80}?\b(?:not set|is not set|missing|undefined|not defined"
    r"|not found|required|must be set)"
    r"|(?-i:\b[A-Z][A-Z0-9]{1,30}_(?:API_KEY|KEY|TOKEN|SECRET)\b)[^\n]{0,60}?\b(?:not set|missing|not found"
    r"|required|undefined|not defined|must be set)"
    r"|(?:no|missing) API[ _-]?key\b|API[ _-]?key (?:is )?(?:not set|missing|not provided|not found|required)"
    r"|did(?:n't| not) provide an API key|api_key client option must be set"
    r"|Import of [\w.]{1,80} is not allowed|not among the (?:explicitly )?(?:allowed|authorized) imports",
    re.IGNORECASE | re.MULTILINE,
)
QUOTA_RE = re.compile(
    r"Too Many Requests|\brate[ _-]?limit\w*|RateLimitError|\bthrottl\w+|\bquota\b|insufficient_quota"
    r"|credit balance is too low|usage limit|(?:request|api|call|concurrency) limit (?:exceeded|reached)"
    r"|MemoryError|out of memory|OutOfMemory|(?-i:\bOOM(?:Killed)?\b)|Cannot allocate memory"
    r"|^Killed$|exit code 137"
    r"|No space left on device|disk (?:quota exceeded|is full|full)|\bENOSPC\b"
    r"|maximum context length|context[_ ]length[_ ]exceeded|context window|too many tokens|token limit"
    r"|max(?:imum)?[_ ]tokens? (?:exceeded|reached)|prompt is too long|request too large|payload too large"
    r"|max number of operations|Resource ?Exhausted|RESOURCE_EXHAUSTED",
    re.IGNORECASE | re.MULTILINE,
)
STATUS_TEXT_RE = re.compile(
    r"\b(?:HTTP(?:Error)?|status(?:[ _]code)?|error(?:[ _]code)?|response code)\W{0,3}([1-5]\d\d)\b"
    r"|\b([45]\d\d) (?:Client|Server) Error\b|\bError\s+([45]\d\d)\b|HTTP/\d(?:\.\d)?\s+([45]\d\d)"
    r"|\b([45]\d\d)\W{0,3}(?:Unauthorized|Forbidden|Not Found|Too Many Requests|Internal Server Error"
    r"|Bad Gateway|Service Unavailable|Gateway Time-?out|Request Time-?out|Gone|Bad Request"
    r"|Unprocessable Entity|Proxy Authentication Required)\b",
    re.IGNORECASE,
)
AUTH_RE = re.compile(
    r"\bUnauthori[sz]ed\b|\bForbidden\b|\bauthenticat\w*\s+(?:failed|failure|error|required)"
    r"|AuthenticationError|PermissionDenied|permission[_ ]denied|access[_ ]denied|AccessDenied"
    r"|invalid[_ ](?:api[_ ]?key|token|credentials?|auth\w*|signature)|incorrect api key"
    r"|(?:token|credentials?|session|signature)\s+(?:has\s+)?expired|expired[_ ](?:token|credentials?)"
    r"|not authori[sz]ed|insufficient[_ ](?:permissions?|scopes?|privileges)|not subscribed to this API"
    r"|(?:login|authentication|sign[ -]in) required|InvalidClientTokenId|SignatureDoesNotMatch",
    re.IGNORECASE,
)
NO_RESULTS_RE = re.compile(
    r"no (?:results|matches|records|documents) (?:were )?found|returned no results", re.IGNORECASE
)
NOT_FOUND_RE = re.compile(
    r"\bNot Found\b|NotFound|No such file or directory|\bENOENT\b|does not exist|doesn't exist"
    r"|(?:could|can)not be found|could not find|\bnot found\b|\bno such (?:file|key|bucket|table|record|user"
    r"|page|resource|directory|object)|NoSuchKey|NoSuchBucket|not archived on Wayback"
    r"|no (?:results|matches|records|documents) (?:were )?found|returned no results",
    re.IGNORECASE,
)
UPSTREAM_RE = re.compile(
    r"Internal Server Error|Bad Gateway|Service Unavailable|Gateway Time-?out|temporarily unavailable"
    r"|\boverloaded|\bserver error|\bupstream\b|timed? ?out\b|\btimeout|Timeout(?:Error|Exception)"
    r"|ReadTimeout|ConnectTimeout|deadline[ _]exceeded|time limit exceeded"
    r"|Connection (?:refused|reset|aborted|error|closed)|ConnectionError|ECONNREFUSED|ECONNRESET"
    r"|RemoteDisconnected|Max retries exceeded|Name or service not known|getaddrinfo failed"
    r"|Temporary failure in name resolution|NewConnectionError|SSLError|certificate verify failed"
    r"|Broken ?Pipe|exitcode:\s*124|(?:sandbox|kernel|container|worker|process) (?:has )?(?:crashed|died"
    r"|exited unexpectedly|restarting|was killed)|Segmentation fault|core dumped",
    re.IGNORECASE,
)
INVALID_ARGUMENTS_RE = re.compile(
    r"unexpected keyword argument|missing \d+ required (?:positional |keyword-only )?arguments?"
    r"|takes \d+ positional arguments? but \d+ (?:was|were) given|missing required (?:argument|parameter"
    r"|field|property|input)"
    r"|required (?:argument|parameter|field|property) [^\n]{0,60}?(?:missing|not provided)"
    r"|invalid (?:argument|parameter|params|input|value|type|json|request)|ValidationError|validation error"
    r"|is a required property|Additional properties are not allowed|is not of type|JSONDecodeError"
    r"|malformed (?:json|arguments|request|input)|\bBad Request\b|Unprocessable Entity|field required",
    re.IGNORECASE,
)
INTERNAL_ERROR_RE = re.compile(r"UnboundLocalError|NotImplementedError")

# Lower-case substrings, one of which every match of the pattern contains: a cheap `in` test on the
# casefolded text lets the classifier skip a regex (whose cost grows with the text) when it cannot match.
TRIGGERS: dict[re.Pattern[str], tuple[str, ...]] = {
    UNKNOWN_TOOL_RE: ("tool", "function", "action"),
    ENVIRONMENT_RE: (
        *("module", "import", "installed", "command not found", "not recognized", "executable"),
        *("shared object", "dll", "errno 13", "permissionerror", "eacces", "permission denied", "read-only"),
        *("keyerror", "environment variable", "env var", "_key", "_token", "_secret", "api key", "api_key"),
        *("api-key", "apikey"),
    ),
    QUOTA_RE: (
        *("too many requests", "rate", "throttl", "quota", "credit balance", "limit", "memory", "oom"),
        *("killed", "137", "no space", "disk", "enospc", "context", "token", "too long", "too large"),
        *("operations", "exhausted"),
    ),
    STATUS_TEXT_RE: (
        *("http", "status", "error", "code", "unauthori", "forbidden", "not found", "too many", "internal"),
        *("gateway", "unavailable", "time", "gone", "bad request", "unprocessable", "proxy"),
    ),
    AUTH_RE: (
        *("unauthori", "forbidden", "authenticat", "permission", "access", "invalid", "incorrect", "expired"),
        *("authori", "insufficient", "subscribed", "required", "tokenid", "signature"),
    ),
    NO_RESULTS_RE: ("no results", "no matches", "no records", "no documents", "returned no results"),
    NOT_FOUND_RE: (
        *("not found", "notfound", "no such", "enoent", "not exist", "n't exist", "be found", "could not find"),
        *("nosuch", "not archived", "no results", "no matches", "no records", "no documents"),
    ),
    UPSTREAM_RE: (
        *("server", "gateway", "unavailable", "overload", "upstream", "time", "deadline", "connection"),
        *("econn", "disconnected", "retries", "service not known", "getaddrinfo", "name resolution"),
        *("sslerror", "certificate", "broken", "124", "crash", "died", "exited", "restarting", "killed"),
        *("segmentation", "core dumped"),
    ),
    INVALID_ARGUMENTS_RE: (
        *("unexpected keyword", "required", "positional argument", "invalid", "validation"),
        *("additional properties", "not of type", "jsondecode", "malformed", "bad request", "unprocessable"),
    ),
    INTERNAL_ERROR_RE: ("unboundlocalerror", "notimplementederror"),
}
