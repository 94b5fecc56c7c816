"""Standard Webhooks 1.0 signing: `whsec_` secrets and the webhook-id / -timestamp / -signature headers.

The signature is `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), keyed with the
base64-decoded part of the `whsec_` secret, over the exact body bytes sent. During a rotation the
header carries one signature per valid secret, space-separated, and receivers accept any match.
Secrets and signatures are never logged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the spec asks for 24 to 64 random bytes


def new_secret() -> str:
    """A fresh signing secret: `whsec_` + base64 of SECRET_BYTES random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_` secret (its base64-decoded part).

    Raises:
        ValueError: the secret is not `whsec_` + base64.
    """
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error:
        raise ValueError("a webhook secret is whsec_ followed by base64") from None
    if not key:
        raise ValueError("a webhook secret may not be empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` signature of `body` sent as message `msg_id` at unix time `timestamp`."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def webhook_headers(signing_secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every secret in `signing_secrets` (newest first)."""
    if not signing_secrets:
        raise ValueError("at least one signing secret is needed")
    if "." in msg_id:
        raise ValueError("a webhook id may not contain '.'")
    signatures = " ".join(sign(secret, msg_id, timestamp, body) for secret in signing_secrets)
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "webhook-signature": signatures}
