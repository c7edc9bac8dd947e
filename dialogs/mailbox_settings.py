"""Placeholder: being written."""

from __future__ import annotations

from dialogs.router import Router


def register(router: Router) -> None:
    """Register this family's commands and buttons."""
