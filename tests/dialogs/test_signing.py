"""Card signatures: every button the bot sends is signed, wherever it sits in the card."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from dialogs.signing import SIGNATURE_KEY, CardSigner
from tests.cards.checks import walk

GOLDEN = sorted((Path(__file__).parents[1] / "cards" / "golden").glob("*.json"))
SIGNER = CardSigner(b"0123456789abcdef-test-secret")


def _buttons(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Action.Execute / Action.Submit, found by visiting every node (no shortcuts)."""
    return [n for n in walk(card) if n.get("type") in {"Action.Execute", "Action.Submit"}]


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_every_button_of_a_card_is_signed(path: Path) -> None:
    card = SIGNER.sign(copy.deepcopy(json.loads(path.read_text())), "a:1")
    buttons = _buttons(card)
    assert all(SIGNATURE_KEY in b["data"] for b in buttons if isinstance(b.get("data"), dict))


def test_buttons_in_fallbacks_are_signed() -> None:
    """An action's fallback, and any element's (a TextBlock's too), may be a button."""
    submit: dict[str, Any] = {"type": "Action.Submit", "data": {"verb": "x", "id": 1}}
    data: dict[str, Any] = {"id": 2}
    execute: dict[str, Any] = {
        "type": "Action.Execute",
        "verb": "y",
        "data": data,
        "fallback": copy.deepcopy(submit),
    }
    card = {
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [
            {
                "type": "TextBlock",
                "text": "x",
                "fallback": {"type": "ActionSet", "actions": [copy.deepcopy(submit)]},
            },
            {"type": "FactSet", "facts": [{"title": "a", "value": "b"}]},
            {"type": "ActionSet", "actions": [execute]},
        ],
    }
    SIGNER.sign(card, "a:1")
    buttons = _buttons(card)
    assert len(buttons) == 3
    assert all(SIGNATURE_KEY in b["data"] for b in buttons)
    assert SIGNER.verify("a:1", "y", data)
    assert not SIGNER.verify("a:2", "y", data), "signed for its conversation"
