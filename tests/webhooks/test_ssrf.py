"""The SSRF guard: only http(s) URLs whose every address is globally routable, unless allowlisted.

Every case resolves locally (IP literals, odd IPv4 spellings, `localhost` from /etc/hosts): no network.
"""

from __future__ import annotations

import pytest

from workers.settings import Settings
from workers.webhooks.ssrf import UnsafeCallbackUrl, check_callback_url, parse_allowlist, resolve_callback_url

PLAIN = Settings(env="test")


@pytest.mark.parametrize(
    ("url", "named"),
    [
        pytest.param("http://127.0.0.1:8080/hook", "127.0.0.1 is a loopback", id="loopback"),
        pytest.param("http://10.0.0.1/hook", "10.0.0.1 is a private", id="private-10"),
        pytest.param("https://192.168.1.20/hook", "192.168.1.20 is a private", id="private-192"),
        pytest.param("http://172.16.5.4/hook", "172.16.5.4 is a private", id="private-172"),
        pytest.param("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata", id="metadata"),
        pytest.param("http://169.254.1.1/", "169.254.1.1 is a link-local", id="link-local"),
        pytest.param("http://[fd00:ec2::254]/", "fd00:ec2::254 is a cloud metadata", id="metadata-v6"),
        pytest.param("http://[::1]/hook", "::1 is a loopback", id="ipv6-loopback"),
        pytest.param("http://[fe80::1]/hook", "fe80::1 is a link-local", id="ipv6-link-local"),
        pytest.param("http://[fc00::1]/hook", "fc00::1 is a private", id="ipv6-unique-local"),
        pytest.param("http://[::ffff:127.0.0.1]/hook", "(IPv4 127.0.0.1) is a loopback", id="ipv4-mapped"),
        pytest.param("http://[::ffff:a9fe:a9fe]/hook", "(IPv4 169.254.169.254) is a cloud metadata", id="mapped-hex"),
        pytest.param("http://[::127.0.0.1]/hook", "(IPv4 127.0.0.1) is a loopback", id="ipv4-compatible"),
        pytest.param("http://[2002:7f00:1::]/hook", "(IPv4 127.0.0.1) is a loopback", id="6to4"),
        pytest.param("http://[64:ff9b::a00:1]/hook", "(IPv4 10.0.0.1) is a private", id="nat64"),
        pytest.param("http://0x7f000001/hook", "127.0.0.1, which host '0x7f000001' resolves to", id="hex"),
        pytest.param("http://2130706433/hook", "127.0.0.1, which host '2130706433' resolves to", id="decimal"),
        pytest.param("http://127.1/hook", "127.0.0.1, which host '127.1' resolves to", id="short"),
        pytest.param("http://100.64.0.1/hook", "100.64.0.1 is a carrier-grade NAT", id="cgnat"),
        pytest.param("http://0.0.0.0:8000/", "0.0.0.0 is a 'this network'", id="zero"),
        pytest.param("http://[::]/", ":: is an unspecified", id="ipv6-unspecified"),
        pytest.param("http://224.0.0.1/", "224.0.0.1 is a multicast", id="multicast"),
        pytest.param("http://240.0.0.1/", "240.0.0.1 is a", id="reserved"),
        pytest.param("http://localhost:9000/hook", "which host 'localhost' resolves to", id="localhost"),
    ],
)
async def test_non_global_addresses_are_refused_naming_the_address(url: str, named: str) -> None:
    with pytest.raises(UnsafeCallbackUrl, match="WEBHOOK_ALLOWED_HOSTS") as refused:
        await check_callback_url(url, PLAIN)
    assert named in str(refused.value)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        pytest.param("ftp://example.com/hook", "scheme 'ftp' is not allowed", id="ftp"),
        pytest.param("file:///etc/passwd", "scheme 'file' is not allowed", id="file"),
        pytest.param("example.com/hook", "scheme", id="no-scheme"),
        pytest.param("http://user:pass@93.184.216.34/hook", "credentials", id="credentials"),
        pytest.param("http://token@93.184.216.34/hook", "credentials", id="username-only"),
        pytest.param("http:///hook", "no host", id="no-host"),
        pytest.param("http://exa%2Fmple.com/", "'%'", id="escaped-host"),
        pytest.param("http://[fe80::1%25eth0]/", "'%'", id="zone-id"),
        pytest.param("http://0177.0.0.1/", "not a valid URL", id="octal"),
    ],
)
async def test_malformed_or_non_http_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(UnsafeCallbackUrl, match=reason):
        await check_callback_url(url, PLAIN)


async def test_a_public_literal_passes_and_is_the_address_to_connect_to() -> None:
    checked = await resolve_callback_url("https://93.184.216.34:8443/hooks/misstep?tag=a", PLAIN)
    assert (checked.address, checked.port, checked.scheme) == ("93.184.216.34", 8443, "https")
    assert checked.netloc == "93.184.216.34:8443"


@pytest.mark.parametrize(
    ("allowed", "url"),
    [
        pytest.param("127.0.0.1", "http://127.0.0.1:8080/hook", id="ip"),
        pytest.param("127.0.0.1", "http://localhost:8080/hook", id="ip-covers-a-name-resolving-to-it"),
        pytest.param("127.0.0.1", "http://[::ffff:127.0.0.1]:8080/hook", id="ip-covers-its-mapped-form"),
        pytest.param("10.0.0.0/8, 127.0.0.0/8", "http://10.20.30.40/hook", id="cidr"),
        pytest.param("LocalHost", "http://localhost:8080/hook", id="hostname"),
        pytest.param("[::1]", "http://[::1]:8080/hook", id="ipv6"),
    ],
)
async def test_allowlisted_hosts_and_addresses_pass(allowed: str, url: str) -> None:
    settings = Settings(env="test", webhook_allowed_hosts=allowed)
    checked = await resolve_callback_url(url, settings)
    assert checked.address in checked.addresses


async def test_an_allowlist_exempts_only_what_it_names() -> None:
    settings = Settings(env="test", webhook_allowed_hosts="127.0.0.1,hooks.internal")
    with pytest.raises(UnsafeCallbackUrl, match=r"10\.0\.0\.1 is a private"):
        await check_callback_url("http://10.0.0.1/hook", settings)
    with pytest.raises(UnsafeCallbackUrl, match=r"169\.254\.169\.254"):
        await check_callback_url("http://169.254.169.254/", settings)


def test_allowlist_parsing() -> None:
    allow = parse_allowlist(" 127.0.0.1 , Hooks.Example.COM., 10.1.0.0/16,[::1],")
    assert allow.hosts == frozenset({"hooks.example.com"})
    assert [str(n) for n in allow.networks] == ["127.0.0.1/32", "10.1.0.0/16", "::1/128"]
    assert allow.allows_host("hooks.example.com.") and not allow.allows_host("example.com")
