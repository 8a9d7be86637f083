"""Outbound webhooks cannot be aimed inside the network (SSRF), and are signed as
Standard Webhooks are.

Addresses are judged after resolution, so every spelling of an internal address (IPv6,
IPv4 inside IPv6, decimal, hex, octal, shortened) and every name that resolves to one is
refused; redirects may not leave the host; the connection goes to the address that was
checked.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from runtime.outbound import OutboundFailed, OutboundPolicy, OutboundRefused, post
from runtime.workflows.delivery import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    DeliveryRefused,
    post_webhook,
    sign,
    verify,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",  # a name: resolved, then judged
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped IPv6
        "http://[::ffff:7f00:1]/hook",
        "http://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 wrapping 169.254.169.254
        "http://[2002:7f00:1::]/hook",  # 6to4 wrapping 127.0.0.1
        "http://2130706433/hook",  # decimal 127.0.0.1
        "http://0x7f000001/hook",  # hex
        "http://0177.0.0.1/hook",  # octal
        "http://127.1/hook",  # shortened
        "http://0/hook",  # 0.0.0.0
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://100.100.100.200/latest/meta-data/",  # Alibaba Cloud metadata (CGNAT range)
        "http://10.1.2.3/hook",
        "http://172.16.0.1/hook",
        "http://192.168.1.1/hook",
        "http://[fd00::1]/hook",  # unique local
        "http://[fe80::1]/hook",  # link-local
        "http://224.0.0.1/hook",  # multicast
        "http://example.com@127.0.0.1/hook",  # userinfo: the host is what follows the @
    ],
)
def test_internal_addresses_are_refused_in_every_spelling(url):
    with pytest.raises(OutboundRefused, match=r"is an internal address|is not a valid URL"):
        post(OutboundPolicy(), url, b"{}", {})


def _resolver(table: dict[str, list[str]]):
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"unknown host {host}")
        return table[host]

    return resolve


def test_names_that_resolve_inside_are_refused():
    policy = OutboundPolicy(
        resolve=_resolver(
            {
                "intranet.example.com": ["10.0.0.7"],
                "mixed.example.com": ["93.184.216.34", "192.168.0.10"],  # one inside is enough
                "v6.example.com": ["fd12:3456::1"],
            }
        )
    )
    for host in ("intranet.example.com", "mixed.example.com", "v6.example.com"):
        with pytest.raises(OutboundRefused, match=host):
            post(policy, f"https://{host}/hook", b"{}", {})
    with pytest.raises(OutboundFailed, match="could not be resolved"):
        post(policy, "https://nowhere.example.com/hook", b"{}", {})


def test_only_http_and_https():
    for url in ("file:///etc/passwd", "gopher://example.com/", "ftp://example.com/"):
        with pytest.raises(OutboundRefused, match="not an http or https URL"):
            post(OutboundPolicy(), url, b"{}", {})


def test_the_connection_goes_to_the_address_that_was_checked():
    """A name is resolved once and the request is sent to that address with the name in
    the Host header (and as TLS server name), so a second, different DNS answer
    (rebinding) is never used."""
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    policy = OutboundPolicy(resolve=lambda host, port: next(answers))
    response = post(
        policy, "https://hooks.example.com/in", b"{}", {}, transport=httpx.MockTransport(handler)
    )
    assert response.status_code == 204
    [request] = seen
    assert request.url.host == "93.184.216.34"
    assert request.headers["host"] == "hooks.example.com"
    assert request.extensions["sni_hostname"] == "hooks.example.com"


class _Server:
    """A local HTTP server; ``routes`` maps a path to (status, headers)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str]]] = {}
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.received.append((self.path, dict(self.headers), body))
                status, headers = outer.routes.get(self.path, (200, {}))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server()
    yield s
    s.close()


def test_allow_listed_internal_hosts_are_reached_and_signed(server):
    policy = OutboundPolicy(allow=("127.0.0.0/8",))
    status = post_webhook(f"{server.base}/in", {"a": 1}, SECRET, "run1:0", policy=policy)
    assert status == 200
    [(path, headers, body)] = server.received
    assert path == "/in" and json.loads(body) == {"a": 1}
    assert headers[ID_HEADER] == "run1:0"
    assert verify(SECRET, "run1:0", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    # Names can be allow-listed too.
    assert post_webhook(
        f"http://localhost:{server.port}/in",
        {},
        SECRET,
        "k",
        policy=OutboundPolicy(allow=("localhost",)),
    )
    # Without the allowance the same request is refused before anything is sent.
    with pytest.raises(DeliveryRefused, match="TESSERA_OUTBOUND_ALLOW"):
        post_webhook(f"{server.base}/in", {}, SECRET, "k2")
    assert len(server.received) == 2


def test_redirects_may_not_leave_the_host(server):
    policy = OutboundPolicy(allow=("127.0.0.1",))
    server.routes = {
        "/to-metadata": (307, {"Location": "http://169.254.169.254/latest/meta-data/"}),
        "/to-other-port": (307, {"Location": "http://127.0.0.1:9/hook"}),
        "/to-https": (308, {"Location": f"https://127.0.0.1:{server.port}/in"}),
        "/found": (302, {"Location": "/in"}),
        "/moved": (307, {"Location": "/in"}),
        "/loop": (307, {"Location": "/loop"}),
    }
    for path in ("/to-metadata", "/to-other-port", "/to-https"):
        with pytest.raises(OutboundRefused, match="to another host"):
            post(policy, f"{server.base}{path}", b"{}", {})
    with pytest.raises(OutboundRefused, match="would drop the body"):
        post(policy, f"{server.base}/found", b"{}", {})
    with pytest.raises(OutboundRefused, match="more than 3 times"):
        post(policy, f"{server.base}/loop", b"{}", {})
    # A 307 within the host keeps method and body.
    response = post(policy, f"{server.base}/moved", b'{"x": 1}', {})
    assert response.status_code == 200
    assert server.received[-1][0] == "/in" and server.received[-1][2] == b'{"x": 1}'


def test_signatures_follow_standard_webhooks():
    # The test vector published with the Standard Webhooks specification.
    body = b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert sign(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body) == expected
    assert verify(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body, f"v1,x {expected}")
    assert not verify(SECRET, "msg_other", "1614265330", body, expected)
    assert not verify(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265331", body, expected)
