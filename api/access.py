"""Who is calling: the audience of a request (DESIGN.md, "Access").

`staff` with the staff key, `reading_room` with the reading-room key or from a configured
terminal network, `public` otherwise. Keys come in the `X-Chayue-Key` header (or as a
bearer token); they are compared in constant time and never logged."""

from __future__ import annotations

import hmac
import ipaddress
from functools import lru_cache

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
