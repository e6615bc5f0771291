"""What each route costs: `METHOD PATH-GLOB=SATS` (first match wins) and free path globs."""

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Optional

from app.paid_http import route_matches

METHODS = ("*", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
MAX_PRICE_SAT = 1_000_000


@dataclass(frozen=True)
class Route:
    method: str  # upper case, or "*" for any
    glob: str  # matched against the path (not the query), e.g. /v1/*
    price: int  # sat per request

    def __str__(self):
        return f"{self.method} {self.glob}"

    @classmethod
    def parse(cls, text: str) -> "Route":
        """`GET /v1/*=10`; the method may be left out (any method)."""
        route, sep, sats = text.rpartition("=")
        parts = route.split()
        if not sep or not 1 <= len(parts) <= 2 or not sats.strip().isdigit():
            raise ValueError(f"--price {text!r}: expected 'METHOD PATH-GLOB=SATS', e.g. 'GET /v1/*=10'")
        method, glob = (parts if len(parts) == 2 else ["*", parts[0]])
        method, price = method.upper(), int(sats)
        if method not in METHODS:
            raise ValueError(f"--price {text!r}: unknown method {method}")
        if not glob.startswith("/"):
            raise ValueError(f"--price {text!r}: the path glob must start with /")
        if not 1 <= price <= MAX_PRICE_SAT:
            raise ValueError(f"--price {text!r}: the price must be 1 to {MAX_PRICE_SAT:,} sat")
        return cls(method, glob, price)

    def matches(self, method: str, path: str) -> bool:
        return route_matches(str(self), method, path)


@dataclass(frozen=True)
class PriceList:
    routes: tuple  # of Route
    free: tuple  # of path globs

    def route(self, method: str, path: str) -> Optional[Route]:
        return next((r for r in self.routes if r.matches(method, path)), None)

    def is_free(self, path: str) -> bool:
        return any(fnmatchcase(path, glob) for glob in self.free)

    @property
    def highest(self) -> int:
        return max(r.price for r in self.routes)
