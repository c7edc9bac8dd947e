"""The Dataverse Web API face (placeholder: being written)."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Add the Web API routes under /api/data/v9.2/."""
