"""Moved to the layer: marketplace/web/pages.py (docs/adr/0016-route-glue-in-the-layer.md). This
name stays only while route modules written before the move still import it; import
`marketplace.web.pages` instead."""

from marketplace.web.pages import Page, PageQuery

__all__ = ["Page", "PageQuery"]
