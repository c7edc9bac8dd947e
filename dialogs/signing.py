"""Card buttons carry a signature, so a click can only send what the bot put on the card.

Every Action.Execute / Action.Submit the bot sends gets `sig`: an HMAC over the
conversation, the verb and the data. A click whose data was changed (another mailbox id
than the card was for), or that comes from another conversation, fails the check and is
refused before anything runs. Input values the person types (the reason box) are not
part of what is signed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, Final

from cards import verbs
from cards.common import VERB_KEY
from dialogs.turn import channel_of

SIGNATURE_KEY: Final = "sig"
_INPUTS: Final = frozenset({verbs.REASON})
_UNSIGNED: Final = frozenset({SIGNATURE_KEY, VERB_KEY, *_INPUTS})
_SIGNED_TYPES: Final = frozenset({"Action.Execute", "Action.Submit"})
_CONTAINERS: Final = (dict, list)
_WITHOUT_ACTIONS: Final = frozenset({"TextBlock", "FactSet"})


class CardSigner:
    """Signs the buttons of outgoing cards and checks the data of incoming clicks."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            msg = "the card signing secret must be at least 16 bytes"
            raise ValueError(msg)
        self._secret = secret

    def _digest(self, conversation_id: str, verb: str, data: dict[str, Any]) -> str:
        signed = {k: v for k, v in data.items() if k not in _UNSIGNED}
        message = json.dumps(
            [conversation_id, verb, signed], sort_keys=True, separators=(",", ":"), default=str
        )
        return hmac.new(self._secret, message.encode(), hashlib.sha256).hexdigest()[:32]

    def sign(self, card: dict[str, Any], conversation_id: str) -> dict[str, Any]:
        """Add `sig` to every button's data (in place) and return the card.

        A card is signed for the conversation, and for a channel thread (`19:…;messageid=…`)
        for the channel itself: a proactive post starts a new thread whose id the sender
        cannot know in advance, and the same people click in every thread of a channel.
        """
        conversation = channel_of(conversation_id)
        for action in _actions(card):
            verb = action.get("verb") or (action.get("data") or {}).get(VERB_KEY)
            data = action.get("data")
            if isinstance(verb, str) and isinstance(data, dict):
                data[SIGNATURE_KEY] = self._digest(conversation, verb, data)
        return card

    def verify(self, conversation_id: str, verb: str, data: dict[str, Any]) -> bool:
        """Whether `data` is what the bot signed for this conversation (or its channel)."""
        given = data.get(SIGNATURE_KEY)
        if not isinstance(given, str):
            return False
        expected = self._digest(channel_of(conversation_id), verb, data)
        return hmac.compare_digest(given, expected)


def _actions(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Action.Execute / Action.Submit in the card, nested ones (a ShowCard's) included.

    A walk with its own stack: a status card has a few hundred nodes, and recursive
    generators cost a frame per level for every node they pass up. Of a TextBlock or a
    FactSet, which hold no actions (Adaptive Cards 1.5), only the fallback is looked at; a
    signed action is looked inside, for the action its own fallback may be.
    """
    found: list[dict[str, Any]] = []
    stack: list[Any] = [card]
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            kind = node.get("type")
            if kind in _SIGNED_TYPES:
                found.append(node)
            if kind in _WITHOUT_ACTIONS:
                fallback = node.get("fallback")  # any element may fall back to an ActionSet
                if isinstance(fallback, dict):
                    push(fallback)
                continue
            for value in node.values():
                if isinstance(value, _CONTAINERS):
                    push(value)
    return found
