"""SSRF guard for callback URLs: which URLs misstep may POST to, and the checked address to connect to.

A callback URL is accepted only if it is http(s) with a plain hostname or IP literal and no credentials,
and *every* address its host resolves to is globally routable. IPv6 forms that carry an IPv4 address
(IPv4-mapped, IPv4-compatible, 6to4, Teredo, NAT64) are judged by that IPv4 address, so
`[::ffff:127.0.0.1]` is loopback. Hosts are resolved with the event loop's getaddrinfo, which also
normalises odd IPv4 spellings (`0x7f000001`, `2130706433`, `127.1`) before they are checked.

Delivery connects to the address returned by `resolve_callback_url` (never resolving the name a second
time, which defeats DNS rebinding) and re-runs the check on every attempt. WEBHOOK_ALLOWED_HOSTS lists
hostnames, IPs or CIDRs exempt from the routability rule (tests, on-premise receivers).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from functools import lru_cache

import httpx
import msgspec

from workers.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_HOSTNAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Checked before the generic properties so that the reason names the most specific kind.
_NAMED_RANGES: tuple[tuple[IPNetwork, str], ...] = (
    (ipaddress.ip_network("169.254.169.254/32"), "a cloud metadata address"),
    (ipaddress.ip_network("fd00:ec2::254/128"), "a cloud metadata address"),
    (ipaddress.ip_network("100.100.100.200/32"), "a cloud metadata address"),
    (ipaddress.ip_network("0.0.0.0/8"), "a 'this network' address (0.0.0.0/8)"),
    (ipaddress.ip_network("100.64.0.0/10"), "a carrier-grade NAT address (100.64.0.0/10)"),
)


class UnsafeCallbackUrl(ValueError):
    """The URL is not http(s), or resolves to an address that is not globally routable (and not allowlisted)."""


class CheckedUrl(msgspec.Struct, frozen=True, kw_only=True):
    """A callback URL that passed the guard, with the address delivery must connect to."""

    url: str  # as given
    scheme: str  # http | https
    host: str  # the hostname (IDNA ASCII, lower case): sent as Host and as the TLS SNI name
    netloc: str  # host[:port] as in the URL: the Host header
    port: int
    address: str  # the checked IP to connect to (the first resolved address)
    addresses: tuple[str, ...]  # every resolved address (all checked)


class Allowlist(msgspec.Struct, frozen=True):
    """WEBHOOK_ALLOWED_HOSTS parsed: exempt hostnames and exempt networks (single IPs are /32 or /128)."""

    hosts: frozenset[str]
    networks: tuple[IPNetwork, ...]

    def allows_host(self, host: str) -> bool:
        return host.rstrip(".") in self.hosts

    def allows_address(self, ip: IPAddress) -> bool:
        candidates = {ip, _unwrap(ip)}
        return any(c.version == net.version and c in net for c in candidates for net in self.networks)


@lru_cache(maxsize=16)
def parse_allowlist(raw: str) -> Allowlist:
    """Parse comma-separated hostnames, IPs (`127.0.0.1`, `[::1]`) and CIDRs (`10.1.0.0/16`)."""
    hosts: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in (e.strip().lower() for e in raw.split(",")):
        if not entry:
            continue
        literal = entry[1:-1] if entry.startswith("[") and entry.endswith("]") else entry
        try:
            networks.append(ipaddress.ip_network(literal, strict=False))
        except ValueError:
            hosts.add(entry.rstrip("."))
    return Allowlist(frozenset(hosts), tuple(networks))


def _unwrap(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 transition form carries (mapped, compatible, 6to4, Teredo, NAT64), else `ip`."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return ip
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    packed = ip.packed
    if ip in _NAT64 or (packed[:12] == bytes(12) and int(ip) > 1):  # NAT64, or IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(packed[12:])
    return ip


def refusal_reason(ip: IPAddress) -> str | None:
    """Why `ip` must not be called (None: it is globally routable)."""
    inner = _unwrap(ip)
    for network, kind in _NAMED_RANGES:
        if inner.version == network.version and inner in network:
            return kind
    checks = (
        (inner.is_loopback, "a loopback address"),
        (inner.is_unspecified, "an unspecified address"),
        (inner.is_link_local, "a link-local address"),
        (inner.is_multicast, "a multicast address"),
        (inner.is_private, "a private address"),
        (inner.is_reserved, "a reserved address"),
        (not inner.is_global, "not a globally routable address"),
    )
    return next((kind for failed, kind in checks if failed), None)


def _parse(url: str) -> tuple[httpx.URL, str]:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise UnsafeCallbackUrl(f"not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise UnsafeCallbackUrl(f"scheme {parsed.scheme or '(none)'!r} is not allowed; use https (or http)")
    if parsed.userinfo:
        raise UnsafeCallbackUrl("credentials in the URL are not allowed; authenticate with the webhook signature")
    host = parsed.raw_host.decode("ascii", errors="replace").lower()
    if not host:
        raise UnsafeCallbackUrl("the URL has no host")
    if "%" in host:
        raise UnsafeCallbackUrl(f"host {host!r} contains '%' (an escape or an IPv6 zone id); use a plain hostname")
    if ":" in host:  # an IPv6 literal
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise UnsafeCallbackUrl(f"host {host!r} is not a valid IPv6 address") from None
    elif not _HOSTNAME.match(host):
        raise UnsafeCallbackUrl(f"host {host!r} is not a valid hostname")
    return parsed, host


def _is_literal(host: str, ip: IPAddress) -> bool:
    """Whether `host` is the standard spelling of `ip` (so the reason need not say what it resolved to)."""
    try:
        return ipaddress.ip_address(host) == ip
    except ValueError:
        return False


async def _resolve(host: str, port: int, timeout_s: float) -> tuple[str, ...]:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout_s):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise UnsafeCallbackUrl(f"host {host!r} did not resolve within {timeout_s:g} s") from None
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeCallbackUrl(f"host {host!r} does not resolve ({exc})") from None
    addresses = [str(info[4][0]) for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)]
    if not addresses:
        raise UnsafeCallbackUrl(f"host {host!r} has no IPv4 or IPv6 address")
    return tuple(dict.fromkeys(addresses))


async def resolve_callback_url(url: str, settings: Settings) -> CheckedUrl:
    """Check `url` and return it with the address to connect to.

    Raises:
        UnsafeCallbackUrl: naming the offending scheme, host or address.
    """
    parsed, host = _parse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    addresses = await _resolve(host, port, settings.webhook_timeout_s)
    allow = parse_allowlist(settings.webhook_allowed_hosts)
    if not allow.allows_host(host):
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            reason = refusal_reason(ip)
            if reason is not None and not allow.allows_address(ip):
                inner = _unwrap(ip)
                shown = address if inner == ip else f"{address} (IPv4 {inner})"
                via = "" if _is_literal(host, ip) else f", which host {host!r} resolves to,"
                raise UnsafeCallbackUrl(
                    f"{shown}{via} is {reason}; callbacks may only reach globally routable addresses "
                    "unless the host is listed in WEBHOOK_ALLOWED_HOSTS"
                )
    return CheckedUrl(
        url=url,
        scheme=parsed.scheme,
        host=host.rstrip("."),
        netloc=parsed.netloc.decode("ascii"),
        port=port,
        address=addresses[0],
        addresses=addresses,
    )


async def check_callback_url(url: str, settings: Settings) -> None:
    """Raise UnsafeCallbackUrl with a clear reason unless `url` is safe to call."""
    await resolve_callback_url(url, settings)
