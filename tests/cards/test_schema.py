"""Every card builder's output passes the official Adaptive Card 1.5 schema and the Teams
rules (tests/cards/checks.py), in English and Indonesian."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft6Validator
from jsonschema.validators import validator_for

from cards.i18n import Strings
from tests.cards import checks
from tests.cards.samples import BUILDERS, CardBuilder


def test_the_official_schema_is_draft_06() -> None:
    schema = checks.official_schema()
    assert schema["$schema"] == "http://json-schema.org/draft-06/schema#"
    assert validator_for(schema) is Draft6Validator
    Draft6Validator.check_schema(schema)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_card_passes_schema_and_teams_checks(name: str, strings: Strings) -> None:
    builder: CardBuilder = BUILDERS[name]
    checks.check_card(builder(strings))


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_card_declares_its_language(name: str, strings: Strings) -> None:
    assert BUILDERS[name](strings)["lang"] == strings.language.value


def test_the_schema_would_reject_what_for_schema_removes(en: Strings) -> None:
    # Why charts and msteams are taken out before validation: the official schema does not
    # know them, so checking the raw card would fail on Teams' own extensions.
    card = BUILDERS["health_donut"](en)
    assert checks.charts(card)
    assert list(checks.validator().iter_errors(card))
    assert not checks.schema_errors(card)


def test_the_validator_catches_a_broken_card(en: Strings) -> None:
    card = BUILDERS["error"](en)
    card["body"].append({"type": "TextBlock", "text": "x", "color": "purple"})
    assert checks.schema_errors(card)


def test_chart_fallback_is_what_other_hosts_render(en: Strings) -> None:
    card = BUILDERS["health_donut"](en)
    (chart,) = checks.charts(card)
    plain = checks.for_schema(card)
    assert not checks.charts(plain)
    assert chart["fallback"] in list(checks.walk(plain["body"]))


def test_cards_are_plain_json(strings: Strings) -> None:
    for builder in BUILDERS.values():
        card = builder(strings)
        assert json.loads(json.dumps(card)) == card
