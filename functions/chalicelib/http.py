"""Moved to the layer: marketplace/web/http.py (docs/adr/0016-route-glue-in-the-layer.md). This
name stays only while route modules written before the move still import it; import
`marketplace.web.http` instead. It holds no code of its own: the same objects, not copies."""

from marketplace.web.http import (
    JSON,
    PUBLIC,
    ROUTES,
    SIGNED_IN,
    Call,
    Handler,
    Marketplace,
    RouteSpec,
    requested_path,
    route,
    route_for,
)

__all__ = [
    "JSON",
    "PUBLIC",
    "ROUTES",
    "SIGNED_IN",
    "Call",
    "Handler",
    "Marketplace",
    "RouteSpec",
    "requested_path",
    "route",
    "route_for",
]
