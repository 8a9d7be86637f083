"""What leaves the platform: e-mail and outbound webhooks.

Both happen outside any database transaction (a network call must not hold row locks),
so a worker killed after sending but before recording the step sends again on retry.
Every delivery therefore carries a key that stays the same across retries: webhooks send
it as ``webhook-id`` and e-mails as their Message-ID, so receivers can drop repeats. The
file backend names each message after its key and so never duplicates.

Webhooks are signed the Standard Webhooks way (https://www.standardwebhooks.com):
``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature:
v1,<base64 HMAC-SHA256 of "id.timestamp.body">``, keyed with the secret (a ``whsec_``
secret is base64 after its prefix; any other is used as its UTF-8 bytes). Their
requests go through ``runtime.outbound``, which refuses internal addresses.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import smtplib
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from runtime.outbound import OutboundFailed, OutboundPolicy, OutboundRefused, post

log = logging.getLogger(__name__)

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"


class DeliveryError(Exception):
    """A message that could not be delivered (the step fails and is retried)."""


class DeliveryRefused(DeliveryError):
    """A message that must not be sent as asked (an internal address): not retried."""


def _key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[len("whsec_") :], validate=True)
        except binascii.Error:
            pass  # not base64 after all: use it as text
    return secret.encode()


def sign(secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    """Return the ``webhook-signature`` value for a body (scheme v1)."""
    signed = message_id.encode() + b"." + timestamp.encode() + b"." + body
    mac = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def verify(secret: str, message_id: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Return whether any signature in ``signature`` (space-separated) is the right one
    for the body (constant time)."""
    expected = sign(secret, message_id, timestamp, body)
    return any(hmac.compare_digest(expected, given) for given in (signature or "").split())


def post_webhook(
    url: str,
    payload: dict[str, Any],
    secret: str,
    key: str,
    *,
    policy: OutboundPolicy | None = None,
) -> int:
    """POST ``payload`` signed with ``secret``; return the status (2xx), else raise."""
    body = json.dumps(payload, ensure_ascii=False, default=str, sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Tessera-Webhook/1",
        ID_HEADER: key,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, key, timestamp, body),
    }
    try:
        response = post(policy or OutboundPolicy(), url, body, headers)
    except OutboundRefused as exc:
        raise DeliveryRefused(str(exc)) from None
    except OutboundFailed as exc:
        raise DeliveryError(str(exc)) from None
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"{url} answered {response.status_code}")
    return response.status_code


def send_email(url: str, sender: str, to: list[str], subject: str, body: str, key: str) -> str:
    """Send one e-mail through the backend ``url`` names; return where it went.

    ``smtp://[user:password@]host[:port]`` (``smtps://`` for TLS), ``file:///folder``
    (one ``.eml`` per message, named by its key) or ``console://`` (the log).
    """
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Message-ID"] = f"<{key}@tessera>"
    message.set_content(body)
    parts = urlsplit(url)
    if parts.scheme == "console":
        log.warning("e-mail (console backend):\n%s", message.as_string())
        return "console"
    if parts.scheme == "file":
        folder = Path(unquote(parts.path))
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{key.replace(':', '_')}.eml"
        path.write_text(message.as_string(), encoding="utf-8")
        return str(path)
    if parts.scheme in ("smtp", "smtps"):
        client_type = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
        try:
            with client_type(parts.hostname or "localhost", port, timeout=30) as client:
                if parts.username:
                    client.login(unquote(parts.username), unquote(parts.password or ""))
                client.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"the mail server {parts.hostname}:{port} refused: {exc}") from None
        return f"{parts.hostname}:{port}"
    raise DeliveryError(f"TESSERA_EMAIL_URL {url!r}: use smtp://, smtps://, file:// or console://")
