"""Outbound HTTP that a tenant's metadata can aim: webhooks.

A workflow's webhook URL is written by a tenant admin, so it must not become a way into
the network Tessera runs in (SSRF). Every request here:

- takes ``http`` or ``https`` only;
- resolves the host once, refuses it if any address it resolves to is not a public one
  (loopback, private, link-local, carrier-grade NAT such as Alibaba Cloud's metadata
  service at 100.100.100.200, unique-local, multicast, reserved; IPv4 inside IPv6 is
  unwrapped first), unless ``TESSERA_OUTBOUND_ALLOW`` names the host or its network;
- connects to the address it checked, not to a second resolution of the name, so a DNS
  answer that changes between check and connect (rebinding) cannot reach inside; TLS is
  still verified against the host name;
- has a timeout, and follows a redirect only to the same scheme, host and port, and only
  307/308 (which keep the method and body), re-checking the address each time.

Numeric host forms such as ``2130706433``, ``0x7f.1`` or ``0177.0.0.1`` reach the system
resolver as they would reach a connection, so they are judged as what they resolve to.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from metadata.automation import SECRET_ENV_PREFIX

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

#: NAT64 (RFC 6052) carries an IPv4 address in its last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
MAX_REDIRECTS = 3


class OutboundRefused(Exception):
    """A request Tessera will not make; retrying cannot change that."""


class OutboundFailed(Exception):
    """A request that failed on the way (timeout, refused connection); may be retried."""


def system_resolver(host: str, port: int) -> list[str]:
    """Return every address ``host`` resolves to (what a connection would try)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _unwrap(ip: IPAddress) -> IPAddress:
    """Return the IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip.teredo is not None:
            return ip.teredo[1]
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def internal(ip: IPAddress) -> bool:
    """Return whether ``ip`` is anything but a public unicast address."""
    inner = _unwrap(ip)
    for candidate in {ip, inner}:
        if not candidate.is_global or candidate.is_multicast or candidate.is_reserved:
            return True
    return False


@dataclass(frozen=True)
class OutboundPolicy:
    """What outbound requests may reach."""

    allow: tuple[str, ...] = ()
    """Host names or networks (``10.1.2.0/24``, ``fd00::/8``, ``192.168.1.5``) that may be
    reached although they are internal."""
    timeout: float = 10.0
    resolve: Resolver = field(default=system_resolver, compare=False)

    def _allowed_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        out = []
        for entry in self.allow:
            try:
                out.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                continue  # a host name
        return out

    def _allowed_host(self, host: str) -> bool:
        names = {e.lower().rstrip(".") for e in self.allow if not _is_network(e)}
        return host.lower().rstrip(".") in names

    def address(self, url: httpx.URL) -> str:
        """Return the address to connect to for ``url``, or raise OutboundRefused."""
        if url.scheme not in ("http", "https"):
            raise OutboundRefused(f"{url} is not an http or https URL")
        host = url.host
        if not host:
            raise OutboundRefused(f"{url} has no host")
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            addresses = self.resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise OutboundFailed(f"{host} could not be resolved: {exc}") from None
        if not addresses:
            raise OutboundFailed(f"{host} resolved to no address")
        if self._allowed_host(host):
            return addresses[0]
        networks = self._allowed_networks()
        for text in addresses:
            ip = ipaddress.ip_address(text.split("%", 1)[0])
            if internal(ip) and not any(ip in n or _unwrap(ip) in n for n in networks):
                shown = host if host == text else f"{host} ({text})"
                raise OutboundRefused(
                    f"{shown} is an internal address (loopback, private, link-local or "
                    "reserved); outbound webhooks may reach it only if TESSERA_OUTBOUND_ALLOW "
                    "names it"
                )
        return addresses[0]


def _is_network(entry: str) -> bool:
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True


def post(
    policy: OutboundPolicy,
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Response:
    """POST ``body`` to ``url`` under ``policy``; return the final response (any status).

    Raise OutboundRefused for what must not be tried again (an internal address, a
    redirect elsewhere) and OutboundFailed for what may work later.
    """
    try:
        target = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise OutboundRefused(f"{url!r} is not a valid URL: {exc}") from None
    with httpx.Client(
        timeout=policy.timeout, follow_redirects=False, transport=transport, trust_env=False
    ) as client:
        for _ in range(MAX_REDIRECTS + 1):
            response = _send(client, policy, target, body, headers)
            if response.status_code not in (301, 302, 303, 307, 308):
                return response
            location = response.headers.get("location")
            if not location:
                return response
            following = target.join(location)
            if (following.scheme, following.host, following.port) != (
                target.scheme,
                target.host,
                target.port,
            ):
                raise OutboundRefused(
                    f"{target} redirected ({response.status_code}) to another host, "
                    f"{following.scheme}://{following.host}; webhooks follow redirects only "
                    "within one host"
                )
            if response.status_code not in (307, 308):
                raise OutboundRefused(
                    f"{target} redirected ({response.status_code}) to {following}, which would "
                    "drop the body; point the webhook at the final URL"
                )
            target = following
        raise OutboundRefused(f"{url} redirected more than {MAX_REDIRECTS} times")


def _send(
    client: httpx.Client,
    policy: OutboundPolicy,
    target: httpx.URL,
    body: bytes,
    headers: dict[str, str],
) -> httpx.Response:
    address = policy.address(target)
    host_header = target.host if target.port is None else f"{target.host}:{target.port}"
    pinned = target.copy_with(host=address)
    extensions: dict[str, Any] = {}
    if target.scheme == "https":
        # Connect to the checked address, but verify the certificate for the name.
        extensions["sni_hostname"] = target.host
    try:
        return client.post(
            pinned,
            content=body,
            headers={**headers, "Host": host_header},
            extensions=extensions,
        )
    except httpx.TimeoutException:
        raise OutboundFailed(f"{target} did not answer within {policy.timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise OutboundFailed(f"{target} could not be reached: {exc}") from None


def webhook_secret(name: str | None) -> str | None:
    """Return the webhook secret in environment variable ``name``, or None when it is
    unset or not a webhook secret's name: only ``TESSERA_HOOK_SECRET_*`` variables are
    ever read for a tenant's metadata (validation refuses other names; this holds even
    for metadata stored before that rule)."""
    if not name or not name.startswith(SECRET_ENV_PREFIX):
        return None
    return os.environ.get(name) or None
