"""Who is calling: the audience of a request (DESIGN.md, "Access").

`staff` with the staff key, `reading_room` with the reading-room key or from a configured
terminal network, `public` otherwise. Keys come in the `X-Chayue-Key` header (or as a
bearer token); they are compared in constant time and never logged."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
from functools import lru_cache
from urllib.parse import urlsplit

from fastapi import Request

from engine.model import Audience
from settings import Settings

KEY_HEADER = "X-Chayue-Key"


@lru_cache(maxsize=8)
def _networks(spec: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def _presented_key(request: Request) -> str | None:
    key = request.headers.get(KEY_HEADER)
    if key:
        return key
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return None


def _same(a: str | None, b: str | None) -> bool:
    return bool(a and b) and hmac.compare_digest(a.encode(), b.encode())  # type: ignore[union-attr]


def audience_of(request: Request, settings: Settings) -> Audience:
    key = _presented_key(request)
    app = request.scope.get("app")
    personal = getattr(getattr(app, "state", None), "staff_audience", None)  # staff/web.py: personal keys
    if personal is not None and key:
        found = personal(request, key)
        if found is not None:
            return found
    if _same(key, settings.staff_key):
        return Audience.staff
    if _same(key, settings.reading_room_key):
        return Audience.reading_room
    host = request.client.host if request.client else None
    if host and settings.reading_room_networks:
        try:
            addr = ipaddress.ip_address(host)
        except ValueError:
            return Audience.public
        if any(addr in net for net in _networks(settings.reading_room_networks)):
            return Audience.reading_room
    return Audience.public


# Query parameters whose value is a secret by its name, whatever the caller meant by it.
_SECRET_PARAM = re.compile(r"((?:^|[?&;])[^=&;\s]*(?:key|token|secret|passw|auth)[^=&;\s]*=)[^&;\s\"]*", re.I)


def _any_encoding(char: str) -> str:
    encoded = "".join("%" + "".join(f"[{h.lower()}{h.upper()}]" if h.isalpha() else h for h in f"{b:02X}")
                      for b in char.encode())
    return f"(?:{re.escape(char)}|{encoded}" + (r"|\+)" if char == " " else ")")


class KeyScrubber(logging.Filter):
    """Takes keys out of log records: the configured keys wherever they appear (also
    percent-encoded), and the value of any query parameter named like a key or token.
    The api reads keys from headers only, but a caller may put one in the URL, and uvicorn's
    access log writes the whole path with its query string."""

    def __init__(self, keys: tuple[str, ...]):
        super().__init__()
        # Each character of a key as itself or percent-encoded in any case (%73taffkey is
        # staffkey to the server), a space also as "+".
        self.forms = [re.compile("".join(_any_encoding(c) for c in k)) for k in sorted(set(keys), key=len, reverse=True)
                      if k]

    def scrub(self, text: str) -> str:
        for form in self.forms:
            text = form.sub("***", text)
        return _SECRET_PARAM.sub(r"\1***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self.scrub(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str) and not record.args:
            record.msg = self.scrub(record.msg)
        return True


def scrub_access_log(settings: Settings) -> None:
    """Installs one KeyScrubber (for these settings' keys) on uvicorn's access and error loggers."""
    scrubber = KeyScrubber((settings.staff_key or "", settings.reading_room_key or ""))
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, KeyScrubber)]:
            logger.removeFilter(old)
        logger.addFilter(scrubber)


# -- which host names the service answers to -------------------------------------------------------
def _host_name(host_header: str) -> str:
    """The name of a Host header, without its port; an IPv6 literal without its brackets."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=8)
def _allowed(spec: str, networks: str, base_url: str) -> tuple[str, ...] | None:
    """The host patterns answered to, or None for any. With terminal networks and no list, a
    name is answered to only if it is the base URL's: IP addresses and localhost always are."""
    if spec.strip():
        names = tuple(h.strip().lower() for h in spec.split(",") if h.strip())
        return None if "*" in names else names
    if not networks.strip():
        return None
    own = _host_name(urlsplit(base_url).netloc) if base_url else ""
    return ("localhost",) + ((own,) if own else ())


def host_allowed(host_header: str | None, settings: Settings) -> bool:
    """Whether a request to this Host may be answered (DNS rebinding: a page whose name now
    points at this server is the page's origin, not ours, and must get nothing)."""
    patterns = _allowed(settings.allowed_hosts, settings.reading_room_networks, settings.base_url or "")
    if patterns is None:
        return True
    name = _host_name(host_header or "")
    if not settings.allowed_hosts.strip() and _is_address(name):
        return True
    return any(name == p or (p.startswith("*.") and name.endswith(p[1:])) for p in patterns)


def site_url(request: Request, settings: Settings) -> str:
    """The service's address for links that leave it (feeds, exports): the configured base URL,
    else the address this request came to, without a trailing slash."""
    return (settings.base_url or str(request.base_url)).rstrip("/")
