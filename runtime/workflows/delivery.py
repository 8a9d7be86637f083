"""What leaves the platform: e-mail and outbound webhooks.

Both happen outside any database transaction (a network call must not hold row locks),
so a worker killed after sending but before recording the step sends again on retry.
Every delivery therefore carries a key that stays the same across retries: webhooks send
it as ``X-Tessera-Delivery`` and e-mails as their Message-ID, so receivers can drop
repeats. The file backend names each message after its key and so never duplicates.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Tessera-Signature"
DELIVERY_HEADER = "X-Tessera-Delivery"
TIMESTAMP_HEADER = "X-Tessera-Timestamp"


class DeliveryError(Exception):
    """A message that could not be delivered (the step fails and is retried)."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Return the signature of a webhook body: HMAC-SHA256 of ``timestamp.body``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Return whether ``signature`` is the right one for the body (constant time)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature or "")


def post_webhook(
    url: str, payload: dict[str, Any], secret: str, key: str, *, timeout: float = 10.0
) -> int:
    """POST ``payload`` signed with ``secret``; return the status (2xx), else raise."""
    body = json.dumps(payload, ensure_ascii=False, default=str, sort_keys=True).encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Tessera-Webhook/1",
            DELIVERY_HEADER: key,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"{url} answered {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise DeliveryError(f"{url} could not be reached: {exc}") from None


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
