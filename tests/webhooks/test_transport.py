"""The pinned POST over TLS: it connects to the checked IP yet sends the URL's name as SNI and Host,
and verifies the certificate against that name (a certificate for another name is refused)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.webhooks.receiver import Receiver
from workers.webhooks.ssrf import CheckedUrl
from workers.webhooks.transport import post_pinned


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for hooks.test (its own CA)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    files = ["-keyout", str(key), "-out", str(cert)]
    subject = ["-subj", "/CN=hooks.test", "-addext", "subjectAltName=DNS:hooks.test"]
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", *files, *subject],
        check=True,
        capture_output=True,
    )
    return cert, key


def target(host: str, port: int) -> CheckedUrl:
    return CheckedUrl(
        url=f"https://{host}:{port}/hook",
        scheme="https",
        host=host,
        netloc=f"{host}:{port}",
        port=port,
        address="127.0.0.1",
        addresses=("127.0.0.1",),
    )


@pytest.fixture
def tls_receiver(certificate: tuple[Path, Path]):
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(*certificate)
    names: list[str | None] = []
    server.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,misc]
    with Receiver(tls=server) as running:
        yield running, names


async def test_https_goes_to_the_checked_ip_with_the_name_as_sni_and_host(tls_receiver, certificate) -> None:
    receiver, names = tls_receiver
    trust = ssl.create_default_context(cafile=str(certificate[0]))
    status = await post_pinned(target("hooks.test", receiver.port), b"{}", {"webhook-id": "msg_1"}, 5, verify=trust)
    assert status == 200
    assert names == ["hooks.test"]
    [got] = receiver.received()
    assert got.headers["host"] == f"hooks.test:{receiver.port}" and got.headers["webhook-id"] == "msg_1"


async def test_a_certificate_for_another_name_is_refused(tls_receiver, certificate) -> None:
    receiver, _names = tls_receiver
    trust = ssl.create_default_context(cafile=str(certificate[0]))
    with pytest.raises(httpx.ConnectError, match=r"CERTIFICATE_VERIFY_FAILED|hostname"):
        await post_pinned(target("other.test", receiver.port), b"{}", {}, 5, verify=trust)
    assert receiver.received() == []
