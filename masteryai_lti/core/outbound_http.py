"""HTTP sessions for calls to addresses that outsiders choose.

A platform names the URLs the tool calls: its key set, token and registration
endpoints (in dynamic registration, which anyone may start) and the AGS and NRPS
service URLs in every launch's claims. Unchecked, that lets whoever controls a
platform registration make this server call its own network: cloud metadata,
Redis, admin consoles behind the firewall (server-side request forgery).

The sessions made here refuse any connection whose peer is not a public address
(loopback, private, link-local, shared, reserved, multicast). The peer is checked
after the socket connects, on the address actually reached, so neither a DNS name
that resolves to an internal address nor one that changes its answer between two
lookups (DNS rebinding), nor a redirect, gets around it. An operator whose LMS
lives on a private network sets ``OUTBOUND_ALLOW_PRIVATE_ADDRESSES``; development
and tests allow them (their platforms run on loopback).

Requests sent through an HTTP proxy connect to the proxy; the proxy must then apply
the same rule.

Answers are read whole into memory (JSON), so their size is capped too: a platform that
answers with gigabytes (or a small gzip that inflates to them) fails the call instead
of the worker's memory.
"""

from __future__ import annotations

import ipaddress

import requests
from flask import current_app, has_app_context
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

SETTING = "OUTBOUND_ALLOW_PRIVATE_ADDRESSES"
# Far above any key set, token or page of members or results (a page of 1,000 members
# is about half a megabyte), far below what hurts a worker.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


class PrivateAddressRefused(requests.ConnectionError):
    """The URL's host is (or resolved to) an address that is not public."""


class ResponseTooLarge(requests.RequestException):
    """The answer is longer than :data:`MAX_RESPONSE_BYTES` (after decompression)."""


def is_public_address(address: str) -> bool:
    """Whether ``address`` (an IP literal) is globally routable, IPv4-mapped IPv6 included."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _private_allowed() -> bool:
    # Outside an app (a bare script) nothing says private addresses are wanted.
    return has_app_context() and bool(current_app.config.get(SETTING))


class _PeerChecked:
    """Mixed into urllib3's connections: refuse the socket unless its peer is public."""

    def _new_conn(self):
        sock = super()._new_conn()
        if _private_allowed():
            return sock
        peer = sock.getpeername()[0]
        if not is_public_address(peer):
            sock.close()
            raise PrivateAddressRefused(
                f"{self.host} is at {peer}, which is not a public address; this server "
                f"calls LMSs only on public addresses ({SETTING})"
            )
        return sock


class _CheckedHTTPConnection(_PeerChecked, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_PeerChecked, HTTPSConnection):
    pass


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class PublicAddressAdapter(HTTPAdapter):
    """A requests adapter whose connections reach public addresses only."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _CheckedHTTPPool,
            "https": _CheckedHTTPSPool,
        }


def private_address_refusal(error: BaseException) -> PrivateAddressRefused | None:
    """The refusal inside a requests error, if that is what it was (urllib3 wraps it)."""
    seen: set[int] = set()
    pending: list[object] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen or not isinstance(current, BaseException):
            continue
        seen.add(id(current))
        if isinstance(current, PrivateAddressRefused):
            return current
        pending.extend(current.args)
        pending.extend((current.__cause__, current.__context__, getattr(current, "reason", None)))
    return None


def _cap_response_size(response: requests.Response, *args, **kwargs) -> requests.Response:
    """Response hook (it runs before requests reads the body): refuse a declared length
    over the cap, and count what is read, decompressed, for answers that declare none."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        response.close()
        raise ResponseTooLarge(
            f"{response.url} answered {declared} bytes, more than {MAX_RESPONSE_BYTES}",
            response=response,
        )
    stream = response.raw.stream

    def counted(*stream_args, **stream_kwargs):
        read = 0
        for chunk in stream(*stream_args, **stream_kwargs):
            read += len(chunk)
            if read > MAX_RESPONSE_BYTES:
                response.close()
                raise ResponseTooLarge(
                    f"{response.url} answered more than {MAX_RESPONSE_BYTES} bytes",
                    response=response,
                )
            yield chunk

    response.raw.stream = counted
    return response


def public_session(user_agent: str = "MasteryAI-LTI") -> requests.Session:
    """A session for URLs a platform or a stranger chose (see the module's docstring)."""
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    adapter = PublicAddressAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.hooks["response"].append(_cap_response_size)
    return session
