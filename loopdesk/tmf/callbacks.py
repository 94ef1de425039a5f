"""Where events may be sent: no callback into LoopDesk's own network (server-side request forgery).

A hub listener is registered by an integration, a webhook by an administrator; either could otherwise make the
worker POST to the machine itself (127.0.0.1, ::1, `localhost`), to the internal network (10/8, 172.16/12,
192.168/16, fc00::/7), to link-local addresses (169.254/16, where cloud metadata services answer) or to other
special ranges. Such callbacks are refused when registered, and checked again on every delivery against the
addresses the name resolves to then (DNS may have changed): the connection goes to the address that was checked.

`LOOPDESK_WEBHOOK_ALLOWED_NETWORKS` (CIDR list) allows ranges on purpose, e.g. a receiver in the operator's own
network (`10.20.0.0/16`), or loopback for tests and demos (`127.0.0.0/8,::1/128`).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loopdesk.core.http import _NoRedirect

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


KINDS = {
    "loopback": gettext_lazy("loopback"),
    "link-local": gettext_lazy("link-local"),
    "private": gettext_lazy("private network"),
    "reserved": gettext_lazy("reserved"),
}


class ForbiddenAddress(OSError):
    """The callback's host is (or resolves to) an address events may not be sent to."""


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    value = getattr(settings, "LOOPDESK_WEBHOOK_ALLOWED_NETWORKS", [])
    if isinstance(value, str):
        value = value.split(",")
    return [ipaddress.ip_network(part.strip(), strict=False) for part in value if part.strip()]


def forbidden_kind(address: Address) -> str | None:
    """Why events may not go to this address (None: they may)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in allowed_networks() if network.version == address.version):
        return None
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_private:
        return "private"
    if address.is_unspecified or address.is_multicast or address.is_reserved or not address.is_global:
        return "reserved"
    return None


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def refusal(url: str) -> str | None:
    """Why a callback URL is refused at registration (None: accepted), in the user's language.

    An address written in the URL is checked as it is; a name is resolved, and refused if any of its addresses is
    forbidden. A name that does not resolve (yet) is accepted: every delivery checks again."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if not host:
        return None  # the URL validator has said what is wrong
    literal = _literal(host)
    if literal is None and (host == "localhost" or host.endswith(".localhost")):
        literal = ipaddress.ip_address("127.0.0.1")
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = [_literal(info[4][0]) for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)]
        except (OSError, UnicodeError, ValueError):
            return None
    for address in addresses:
        if address is not None and (kind := forbidden_kind(address)) is not None:
            return _("Events cannot be sent to a %(kind)s address (%(address)s): give the receiver's public address, "
                     "or ask the administrator to allow this network (LOOPDESK_WEBHOOK_ALLOWED_NETWORKS).") % {
                "kind": KINDS[kind], "address": address}
    return None


def _guarded_connection(address: tuple[str, int], timeout: Any = socket._GLOBAL_DEFAULT_TIMEOUT,
                        source_address: Any = None) -> socket.socket:
    """`socket.create_connection`, refusing (ForbiddenAddress) a host that resolves to a forbidden address; the
    socket connects to an address that was checked (no second lookup that could answer otherwise)."""
    host, port = address
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for *_rest, sockaddr in infos:
        ip = _literal(sockaddr[0])
        if ip is not None and (kind := forbidden_kind(ip)) is not None:
            raise ForbiddenAddress(f"{host} resolves to a {kind} address ({ip}), not allowed by "
                                   f"LOOPDESK_WEBHOOK_ALLOWED_NETWORKS")
    error: OSError | None = None
    for family, socktype, proto, _canon, sockaddr in infos:
        sock = socket.socket(family, socktype, proto)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error or OSError(f"no address for {host}")


class _GuardedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _guarded_connection  # http.client sets socket.create_connection per instance


class _GuardedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _guarded_connection


class _GuardedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: Any) -> Any:
        return self.do_open(_GuardedHTTPConnection, req)


class _GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: Any) -> Any:
        return self.do_open(_GuardedHTTPSConnection, req, context=self._context)


# For event deliveries: no redirects (loopdesk.core.http), no proxy (the address checked is the one connected to),
# and no connection to a forbidden address.
GUARDED_OPENER = urllib.request.build_opener(
    urllib.request.ProxyHandler({}), _NoRedirect, _GuardedHTTPHandler, _GuardedHTTPSHandler)
