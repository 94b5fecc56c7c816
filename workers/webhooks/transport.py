"""One webhook POST to an SSRF-checked address: pinned IP, original Host and SNI, no redirects, bounded time.

The request goes to the address the guard checked (so a second DNS answer cannot redirect it), with
the URL's own host in the Host header and, for https, as the TLS server name (the `sni_hostname`
request extension of httpcore), so certificates are verified against the name the user gave. Proxy
environment variables are ignored: a proxy would resolve the name again. The response body is never
read: only the status code counts.
"""

from __future__ import annotations

import asyncio
import ssl

import httpx

from workers.webhooks.ssrf import CheckedUrl

USER_AGENT = "misstep-webhooks/1"


async def post_pinned(
    target: CheckedUrl,
    body: bytes,
    headers: dict[str, str],
    timeout_s: float,
    *,
    verify: ssl.SSLContext | bool = True,
) -> int:
    """POST `body` to `target.address`; returns the response status code.

    `verify` is httpx's TLS verification (the system CAs by default; tests pass their own CA).

    Raises:
        httpx.HTTPError: connection, TLS or protocol failure (httpx.TimeoutException included).
        TimeoutError: no complete answer within `timeout_s` in all.
    """
    url = httpx.URL(target.url).copy_with(host=target.address)
    request_headers = {
        **headers,
        "host": target.netloc,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False, timeout=timeout_s, verify=verify) as client:
        request = client.build_request("POST", url, content=body, headers=request_headers, extensions=extensions)
        async with asyncio.timeout(timeout_s):
            response = await client.send(request, stream=True)
            await response.aclose()
    return response.status_code
