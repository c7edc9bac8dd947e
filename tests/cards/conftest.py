"""Fixtures for card tests: the two translators."""

from __future__ import annotations

import pytest

from cards.i18n import Strings, translator


@pytest.fixture
def en() -> Strings:
    return translator("en-US")


@pytest.fixture
def id_() -> Strings:
    return translator("id-ID")


@pytest.fixture(params=["en-US", "id-ID"])
def strings(request: pytest.FixtureRequest) -> Strings:
    """Each test using this runs once per language."""
    return translator(str(request.param))
