"""Standard Webhooks signing, checked with the reference `standardwebhooks` library."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from workers.webhooks.signing import new_secret, secret_key, sign, webhook_headers

BODY = b'{"type":"failure_analysis.completed","data":{"run_id":"r1","note":"caf\xc3\xa9"}}'


def test_a_new_secret_is_whsec_and_at_least_24_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert new_secret() != secret


def test_headers_verify_with_the_reference_library() -> None:
    secret = new_secret()
    headers = webhook_headers([secret], "msg_r1", int(time.time()), BODY)
    assert headers["webhook-id"] == "msg_r1"
    assert headers["webhook-signature"].startswith("v1,") and " " not in headers["webhook-signature"]
    assert Webhook(secret).verify(BODY, headers)["data"]["run_id"] == "r1"


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h, b: (h, b.replace(b"r1", b"r2")), id="body"),
        pytest.param(lambda h, b: ({**h, "webhook-id": "msg_other"}, b), id="id"),
        pytest.param(lambda h, b: ({**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) + 1)}, b), id="time"),
    ],
)
def test_any_change_to_id_timestamp_or_body_breaks_the_signature(tamper) -> None:
    secret = new_secret()
    headers, body = tamper(webhook_headers([secret], "msg_r1", int(time.time()), BODY), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)


def test_another_secret_does_not_verify() -> None:
    headers = webhook_headers([new_secret()], "msg_r1", int(time.time()), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


def test_during_a_rotation_both_secrets_verify() -> None:
    old, new = new_secret(), new_secret()
    headers = webhook_headers([new, old], "msg_r1", int(time.time()), BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify(BODY, headers) == Webhook(old).verify(BODY, headers)


def test_signature_is_hmac_over_id_timestamp_and_body_with_the_decoded_key() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks spec's example secret
    assert secret_key(secret) == base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    timestamp = 1_700_000_000
    expected = Webhook(secret).sign("msg_x", datetime.fromtimestamp(timestamp, tz=UTC), BODY.decode())
    assert sign(secret, "msg_x", timestamp, BODY) == expected


@pytest.mark.parametrize("bad", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_not*base64"])
def test_malformed_secrets_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError):
        secret_key(bad)


def test_a_webhook_id_with_a_dot_is_rejected() -> None:
    with pytest.raises(ValueError):
        webhook_headers([new_secret()], "msg.1", 1, BODY)
