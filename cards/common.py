"""Shared card pieces: the schema version, the card envelope, headers, facts, badges, buttons
(Action.Execute with an Action.Submit fallback), refresh, mentions, the size guard, and the
error card.

Everything here returns plain ``dict`` values ready for ``json.dumps``; nothing does I/O.
Text that comes from Dataverse or from people goes through :func:`md_escape` (Teams renders
a markdown subset in TextBlock and FactSet), and text that might carry a credential goes
through :func:`redact` as well.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from cards.i18n import N_, Strings

SCHEMA_VERSION: Final = "1.5"
"""Teams renders Adaptive Cards up to 1.5, and its Universal Actions need 1.5."""
SCHEMA_URL: Final = "http://adaptivecards.io/schemas/adaptive-card.json"
MAX_CARD_BYTES: Final = 80_000
"""Our budget for one card, in UTF-16 bytes. Teams refuses bot messages over about 100 KB
(413 MessageSizeTooBig); the rest is left for the activity around the card."""
MAX_REFRESH_USER_IDS: Final = 60
"""Teams runs an automatic refresh for at most 60 listed users."""
VERB_KEY: Final = "verb"
"""The key under which the Action.Submit fallback carries the Action.Execute verb."""

Card = dict[str, Any]
Element = dict[str, Any]
Action = dict[str, Any]


class Tone(StrEnum):
    """Semantic colors of Adaptive Cards, used for badges and text."""

    GOOD = "Good"
    WARNING = "Warning"
    ATTENTION = "Attention"
    ACCENT = "Accent"
    DEFAULT = "Default"


class ButtonStyle(StrEnum):
    """Action styles: positive for the main way forward, destructive for what removes or
    refuses."""

    DEFAULT = "default"
    POSITIVE = "positive"
    DESTRUCTIVE = "destructive"


class CardTooLargeError(ValueError):
    """A card does not fit the Teams size budget even with every list trimmed away."""


# --- text -----------------------------------------------------------------------------------

_MD_INLINE: Final = re.compile(r"([\\`*\[\]])")
_MD_LINE_START: Final = re.compile(r"(?m)^(\s*)([#>+-]|\d+\.)(?=\s|$)")


def md_escape(text: str) -> str:
    """Make ``text`` render literally in a TextBlock: backslash-escape the markdown that Teams
    acts on (emphasis, links, code, list and heading markers at line starts). Underscores are
    left alone because intraword ones (``john_doe@contoso.com``) never start emphasis."""
    escaped = _MD_INLINE.sub(r"\\\1", text)
    return _MD_LINE_START.sub(r"\1\\\2", escaped)


_GUID: Final = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_SECRET_PATTERNS: Final = (
    # JSON Web Tokens (Entra access and id tokens)
    re.compile(r"\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*"),
    # Authorization header values (a digit or "=" tells them from "Basic authentication")
    re.compile(r"\b(?:Bearer|Basic)\s+(?=[\w.~+/=-]{0,200}[\d=])[\w.~+/=-]{8,}"),
    # key=value and "key": "value" pairs whose key names a secret
    re.compile(
        r"(?i)\b(?:client_?secret|secret|password|passwd|pwd|token|access_?token|"
        r"refresh_?token|api_?key|sig|signature|authorization)"
        r"(?:\"|')?\s*[=:]\s*(?:\"|')?[^\s\"'&,;]+"
    ),
)
# Long opaque runs (keys, client secrets, SAS signatures). Which runs are secrets is decided
# in Python (_redact_opaque) rather than with lookaheads, which would rescan every run and
# go quadratic on long text.
_OPAQUE: Final = re.compile(r"[\w+/~.-]{32,}={0,2}")
_HEX: Final = re.compile(r"[0-9a-fA-F]{32,}")
REDACTED: Final = "•••"
"""What replaces a credential: language-neutral, and no markdown to escape."""


def _redact_match(match: re.Match[str]) -> str:
    return REDACTED


def _redact_opaque(match: re.Match[str]) -> str:
    text = match.group(0)
    # Record ids and correlation ids are GUIDs: long and opaque, but safe and often needed.
    if _GUID.fullmatch(text):
        return text
    # Generated secrets (base64 keys, client secrets) mix upper case, lower case and digits,
    # or are long hex; names, URLs and hyphenated mailbox names rarely do, and stay readable.
    mixed = (
        any(c.isupper() for c in text)
        and any(c.islower() for c in text)
        and any(c.isdigit() for c in text)
    )
    return REDACTED if mixed or _HEX.fullmatch(text) else text


def redact(text: str) -> str:
    """Replace anything that looks like a credential (JWTs, bearer values, ``secret=…``
    pairs, long opaque strings other than GUIDs) with :data:`REDACTED`."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(_redact_match, text)
    return _OPAQUE.sub(_redact_opaque, text)


def plain_text(text: str, *, max_chars: int = 500) -> str:
    """Text from outside for places that show no markdown (button titles, tooltips):
    credentials redacted, cut at ``max_chars`` with an ellipsis."""
    text = redact(text)
    if len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
    return text


def safe_text(text: str, *, max_chars: int = 500) -> str:
    """Text from outside (Dataverse, a person) made fit for a TextBlock or FactSet:
    credentials redacted, cut at ``max_chars`` with an ellipsis, markdown escaped."""
    return md_escape(plain_text(text, max_chars=max_chars))


def text_block(
    text: str,
    *,
    size: str | None = None,
    weight: str | None = None,
    color: Tone | None = None,
    subtle: bool = False,
    spacing: str | None = None,
    separator: bool = False,
    max_lines: int | None = None,
) -> Element:
    """A wrapping TextBlock; ``text`` is used as given (escape outside text first)."""
    block: Element = {"type": "TextBlock", "text": text, "wrap": True}
    if size is not None:
        block["size"] = size
    if weight is not None:
        block["weight"] = weight
    if color is not None:
        block["color"] = color.value
    if subtle:
        block["isSubtle"] = True
    if spacing is not None:
        block["spacing"] = spacing
    if separator:
        block["separator"] = True
    if max_lines is not None:
        block["maxLines"] = max_lines
    return block


def heading(text: str, *, separator: bool = True) -> Element:
    """A section heading inside a card."""
    return text_block(text, weight="Bolder", spacing="Medium", separator=separator)


def header(
    strings: Strings,
    title: str,
    *,
    environment: str | None,
    subtitle: str | None = None,
    badge_label: str | None = None,
    badge_tone: Tone = Tone.DEFAULT,
) -> Element:
    """The top of a card: a large title, an optional status badge beside it, an optional
    subtitle, and the environment the card speaks of.

    Args:
        title: already localized (and escaped where it contains outside text).
        environment: the environment's name; ``None`` only for cards about no environment.
    """
    title_block = text_block(title, size="Large", weight="Bolder")
    if badge_label is None:
        top: Element = title_block
    else:
        top = {
            "type": "ColumnSet",
            "columns": [
                {"type": "Column", "width": "stretch", "items": [title_block]},
                {
                    "type": "Column",
                    "width": "auto",
                    "verticalContentAlignment": "Center",
                    "items": [badge(badge_label, badge_tone)],
                },
            ],
        }
    items: list[Element] = [top]
    if subtitle is not None:
        items.append(text_block(subtitle, spacing="None", subtle=True))
    if environment is not None:
        items.append(
            text_block(
                strings.gettext("Environment: {name}", name=safe_text(environment, max_chars=80)),
                size="Small",
                subtle=True,
                spacing="Small",
            )
        )
    return {"type": "Container", "items": items}


def badge(label: str, tone: Tone) -> Element:
    """A colored status label. Adaptive Cards 1.5 has no badge element, so this is bold
    colored text with a dot, which also reads in high-contrast themes without the color."""
    return text_block(f"● {label}", weight="Bolder", color=tone)


def fact_set(facts: Iterable[tuple[str, str]]) -> Element:
    """A FactSet from (title, value) pairs; values are used as given."""
    return {"type": "FactSet", "facts": [{"title": t, "value": v} for t, v in facts]}


# --- actions --------------------------------------------------------------------------------


def execute_action(
    title: str,
    verb: str,
    data: Mapping[str, Any],
    style: ButtonStyle | None = None,
    *,
    tooltip: str | None = None,
) -> Action:
    """An Action.Execute with an Action.Submit fallback for clients without Universal Actions.

    The fallback carries the same ``data`` plus ``verb`` under :data:`VERB_KEY`, so the router
    reads one shape whichever action arrives. Put the result in an ActionSet (see
    :func:`action_set`): Teams wants Universal Actions inside one. ``tooltip`` is what screen
    readers say when several buttons share a title.

    Raises:
        ValueError: ``data`` already uses the key :data:`VERB_KEY`.
    """
    if VERB_KEY in data:
        msg = f"action data may not use the reserved key {VERB_KEY!r}"
        raise ValueError(msg)
    payload = dict(data)
    fallback: Action = {
        "type": "Action.Submit",
        "title": title,
        "data": {**payload, VERB_KEY: verb},
    }
    action: Action = {"type": "Action.Execute", "title": title, "verb": verb, "data": payload}
    if style is not None and style is not ButtonStyle.DEFAULT:
        action["style"] = style.value
        fallback["style"] = style.value
    if tooltip is not None:
        action["tooltip"] = tooltip
        fallback["tooltip"] = tooltip
    action["fallback"] = fallback
    return action


def action_set(actions: Sequence[Action], *, separator: bool = False) -> Element:
    """An ActionSet holding ``actions`` (Teams shows at most a handful in one row)."""
    element: Element = {"type": "ActionSet", "actions": list(actions)}
    if separator:
        element["separator"] = True
    return element


def refresh(verb: str, data: Mapping[str, Any], user_ids: Sequence[str]) -> dict[str, Any]:
    """A card-level ``refresh`` so that the listed users see their own view of the card.

    Args:
        user_ids: Teams user ids (``29:…``); an empty list means refresh only on request.

    Raises:
        ValueError: more than :data:`MAX_REFRESH_USER_IDS` distinct ids.
    """
    unique = list(dict.fromkeys(user_ids))
    if len(unique) > MAX_REFRESH_USER_IDS:
        msg = f"refresh lists {len(unique)} users; Teams allows {MAX_REFRESH_USER_IDS}"
        raise ValueError(msg)
    return {
        "action": {"type": "Action.Execute", "verb": verb, "data": dict(data)},
        "userIds": unique,
    }


@dataclass(frozen=True)
class Mention:
    """A person to @mention in a card: ``text`` goes into a TextBlock, the card envelope
    lists the entity. ``user_id`` is the Teams ``29:…`` id, the Entra object id or the UPN."""

    name: str
    user_id: str

    @property
    def text(self) -> str:
        """The ``<at>…</at>`` text that Teams replaces with the mention."""
        return f"<at>{md_escape(self.name)}</at>"

    @property
    def entity(self) -> dict[str, Any]:
        """The ``msteams.entities`` item for this mention."""
        return {
            "type": "mention",
            "text": self.text,
            "mentioned": {"id": self.user_id, "name": self.name},
        }


def adaptive_card(
    strings: Strings,
    body: Sequence[Element],
    *,
    full_width: bool = False,
    refresh_block: Mapping[str, Any] | None = None,
    mentions: Sequence[Mention] = (),
    fallback_text: str | None = None,
) -> Card:
    """The card envelope: type, ``$schema``, version 1.5, language, body, and the Teams
    extensions (``msteams.width`` = ``Full`` for wide tables, mention entities).

    Buttons belong in ActionSets inside ``body`` (see :func:`execute_action`), so the
    envelope has no top-level ``actions``.
    """
    card: Card = {
        "type": "AdaptiveCard",
        "$schema": SCHEMA_URL,
        "version": SCHEMA_VERSION,
        "lang": strings.language.value,
        "body": list(body),
    }
    if fallback_text is not None:
        card["fallbackText"] = fallback_text
    if refresh_block is not None:
        card["refresh"] = dict(refresh_block)
    msteams: dict[str, Any] = {}
    if full_width:
        msteams["width"] = "Full"
    if mentions:
        msteams["entities"] = [m.entity for m in dict.fromkeys(mentions)]
    if msteams:
        card["msteams"] = msteams
    return card


# --- size -----------------------------------------------------------------------------------


def card_size(card: Mapping[str, Any]) -> int:
    """The card's size in bytes as Teams counts it (UTF-16).

    Measured on Python's default ``json.dumps`` output (non-ASCII escaped as ``\\uXXXX``,
    spaced separators), the largest of the usual serializations, so the figure is an upper
    bound whatever serializer the hosting layer uses.
    """
    return len(json.dumps(card)) * 2


def ensure_fits(card: Card, *, limit: int = MAX_CARD_BYTES) -> Card:
    """Return ``card`` unchanged, or raise :class:`CardTooLargeError` if it is over ``limit``."""
    size = card_size(card)
    if size > limit:
        msg = f"card is {size} bytes, over the {limit}-byte budget"
        raise CardTooLargeError(msg)
    return card


def fit(build: Callable[[int], Card], total: int, *, limit: int = MAX_CARD_BYTES) -> Card:
    """The card showing as many of ``total`` list items as fit in ``limit``.

    ``build(k)`` must render the first ``k`` items and, when ``k < total``, a line saying how
    many more there are (:func:`more_line`). The largest fitting ``k`` is found by bisection,
    so the real card is measured rather than estimated.

    Raises:
        CardTooLargeError: the card is too large even with no items.
    """
    card = build(total)
    if card_size(card) <= limit:
        return card
    best = ensure_fits(build(0), limit=limit)
    low, high = 0, total - 1
    while low < high:
        middle = (low + high + 1) // 2
        candidate = build(middle)
        if card_size(candidate) <= limit:
            low, best = middle, candidate
        else:
            high = middle - 1
    return best


def more_line(strings: Strings, hidden: int) -> Element:
    """The "… and N more" line closing a trimmed list."""
    return text_block(
        strings.ngettext("… and {n} more", "… and {n} more", hidden),
        subtle=True,
        spacing="Small",
    )


# --- errors ---------------------------------------------------------------------------------


class ErrorKind(StrEnum):
    """What went wrong, as far as the person needs to know. The card's title and text come
    from the kind, never from an exception, so no message can leak a token or a trace."""

    UNEXPECTED = "unexpected"
    THROTTLED = "throttled"
    UNAVAILABLE = "unavailable"
    TIMEOUT = "timeout"
    NOT_FOUND = "not-found"
    CONFLICT = "conflict"
    REFUSED = "refused"
    STALE_CARD = "stale-card"
    TOO_LONG = "too-long"
    RATE_LIMITED = "rate-limited"
    NOT_A_USER = "not-a-user"


_ERROR_TEXT: Final[dict[ErrorKind, tuple[str, str]]] = {
    ErrorKind.UNEXPECTED: (
        N_("Something went wrong"),
        N_(
            "MailOps could not finish this request. If it happens again, give the reference "
            "below to your MailOps administrator."
        ),
    ),
    ErrorKind.THROTTLED: (
        N_("Dataverse is busy"),
        N_("The environment asked MailOps to slow down, so the request was not sent."),
    ),
    ErrorKind.UNAVAILABLE: (
        N_("Dataverse is not available"),
        N_("The environment did not answer. Try again in a few minutes."),
    ),
    ErrorKind.TIMEOUT: (
        N_("The request took too long"),
        N_("The environment did not answer in time. Check the result before trying again."),
    ),
    ErrorKind.NOT_FOUND: (
        N_("Not found"),
        N_("The record no longer exists in this environment."),
    ),
    ErrorKind.CONFLICT: (
        N_("Changed by someone else"),
        N_("The record changed after MailOps read it. Look at it again, then retry."),
    ),
    ErrorKind.REFUSED: (
        N_("Dataverse refused the request"),
        N_("The environment answered with an error. The code below says which."),
    ),
    ErrorKind.STALE_CARD: (
        N_("This card is out of date"),
        N_("The card no longer matches what it was made for. Ask again for a fresh one."),
    ),
    ErrorKind.TOO_LONG: (
        N_("That message is too long"),
        N_("Send a shorter request; one command per message."),
    ),
    ErrorKind.NOT_A_USER: (
        N_("You are not a user of this environment"),
        N_(
            "MailOps found no account for you in this environment's directory, so it cannot "
            "check what you may do there. Pick another environment, or ask an administrator."
        ),
    ),
    ErrorKind.RATE_LIMITED: (
        N_("Slow down a little"),
        N_(
            "You sent many requests in a short time. MailOps did not run this one, to keep "
            "the environment's Dataverse limits free for everyone."
        ),
    ),
}

_ERROR_CODE: Final = re.compile(r"(?:0x[0-9A-Fa-f]{1,8}|-?\d{1,10}|[A-Za-z][A-Za-z0-9_.]{0,79})")


def error_text(strings: Strings, kind: ErrorKind, *, retry_after: float | None = None) -> str:
    """The error in one paragraph of plain text, for answers that cannot carry a card (the
    message answer of an Action.Execute, which leaves the clicked card as it was)."""
    title, detail = _ERROR_TEXT[kind]
    parts = [strings.gettext(title) + ".", strings.gettext(detail)]
    if retry_after is not None:
        seconds = _whole_seconds(retry_after)
        parts.append(
            strings.ngettext("Try again in {n} second.", "Try again in {n} seconds.", seconds)
        )
    return " ".join(parts)


def _whole_seconds(retry_after: float) -> int:
    return max(1, math.ceil(retry_after))


def error_card(
    strings: Strings,
    kind: ErrorKind,
    *,
    correlation_id: str,
    environment: str | None = None,
    subject: str | None = None,
    code: str | None = None,
    retry_after: float | None = None,
    actions: Sequence[Action] = (),
) -> Card:
    """A card for a failure: what went wrong in the person's words, and a reference for the
    administrator. Never a traceback or an exception message.

    Args:
        kind: picks the localized title and explanation.
        correlation_id: the activity id, shown so logs can be found.
        subject: what the failure was about (a mailbox or profile name); credentials are
            redacted and markdown escaped.
        code: a Dataverse error code or name (``0x8005E222``, ``EmailServerProfileNotAssociated``);
            anything else is dropped rather than shown.
        retry_after: seconds to wait, for throttling (429 Retry-After).
        actions: buttons, e.g. a "Try again" :func:`execute_action`.
    """
    title, detail = _ERROR_TEXT[kind]
    body: list[Element] = [
        header(
            strings,
            strings.gettext(title),
            environment=environment,
            badge_label=strings.gettext("Error"),
            badge_tone=Tone.ATTENTION,
        ),
        text_block(strings.gettext(detail)),
    ]
    if retry_after is not None:
        seconds = _whole_seconds(retry_after)
        body.append(
            text_block(
                strings.ngettext("Try again in {n} second.", "Try again in {n} seconds.", seconds),
                weight="Bolder",
                color=Tone.WARNING,
            )
        )
    facts: list[tuple[str, str]] = []
    if subject:
        facts.append((strings.gettext("About"), safe_text(subject, max_chars=200)))
    if code is not None and _ERROR_CODE.fullmatch(code.strip()):
        facts.append((strings.gettext("Error code"), md_escape(code.strip())))
    facts.append((strings.gettext("Reference"), safe_text(correlation_id, max_chars=128)))
    body.append(fact_set(facts))
    if actions:
        body.append(action_set(actions))
    return ensure_fits(adaptive_card(strings, body, fallback_text=strings.gettext(title)))
