"""The dispatcher: text to a command, a click to its action, and every failure to a card.

Each command family registers its handlers here (`Router.command`, `Router.action`); a
handler returns the card to show. Errors are answered in one place, `_answer`, so a
handler never formats its own failures and nothing reaches the person as a traceback.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from cards import verbs
from cards.access import permission_denied
from cards.choices import Candidate, choice, did_you_mean
from cards.common import ErrorKind, error_card
from cards.i18n import translator
from dataverse.errors import (
    DataverseError,
    DataverseRequestError,
    DataverseStatusError,
    DataverseTimeout,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    ServiceUnavailable,
    Throttled,
)
from dataverse.ops import MissingDefault, NotApplied, ProfileExists
from dialogs import access, grammar
from dialogs.commands import BaseCommand, CommandKind
from dialogs.context import Ctx, Services
from dialogs.errors import (
    AmbiguousError,
    DeniedError,
    NoIdentityError,
    NothingMatchedError,
    StaleCardError,
    UnknownEnvironmentError,
)
from dialogs.signing import CardSigner
from dialogs.turn import Card, CardAction, Turn
from permissions import FactsUnavailableError

log = logging.getLogger("mailops.dialogs")

C = TypeVar("C", bound=BaseCommand)
CommandHandler = Callable[[Ctx, Any], Awaitable[Card]]
ActionHandler = Callable[[Ctx, dict[str, Any]], Awaitable[Card]]

CommandObserver = Callable[[str, str], None]
"""Told `(command, outcome)` after each typed command and card action: the command kind, or
the verb of the clicked card, "unknown" when neither is known; ok, denied, usage or failed."""

command_observer: ContextVar[CommandObserver | None] = ContextVar(
    "mailops_command_observer", default=None
)
"""The observer of the current context (the host's metrics set it per turn); none by default.
A context variable rather than an attribute, so that it reaches the router through whatever
dispatchers wrap it."""


class Router:
    """Implements `dialogs.turn.Dispatcher` for the whole product."""

    def __init__(self, services: Services, signer: CardSigner) -> None:
        self.services = services
        self.signer = signer
        self._commands: dict[CommandKind, CommandHandler] = {}
        self._actions: dict[str, ActionHandler] = {}

    # ---- registration -------------------------------------------------------------------

    def command(self, kind: CommandKind) -> Callable[[CommandHandler], CommandHandler]:
        def register(handler: CommandHandler) -> CommandHandler:
            self._commands[kind] = handler
            return handler

        return register

    def action(self, verb: str) -> Callable[[ActionHandler], ActionHandler]:
        def register(handler: ActionHandler) -> ActionHandler:
            self._actions[verb] = handler
            return handler

        return register

    def handles(self, kind: CommandKind) -> bool:
        return kind in self._commands

    # ---- Dispatcher -------------------------------------------------------------------

    async def on_message(self, turn: Turn) -> None:
        card = await (self._click(turn, turn.action) if turn.action else self.run_text(turn))
        await turn.reply(self._sign(card, turn))

    async def on_execute(self, turn: Turn) -> Card | str:
        if turn.action is None:
            return "?"
        return self._sign(await self._click(turn, turn.action), turn)

    async def on_installed(self, turn: Turn) -> None:
        await turn.reply(self._sign(await self.run_text(turn, "help"), turn))

    # ---- running ------------------------------------------------------------------------

    async def run_text(self, turn: Turn, text: str | None = None) -> Card:
        """Parse and run one typed request; always answers with a card."""
        ctx: Ctx | None = None
        kind = "unknown"
        try:
            command = grammar.parse(turn.text if text is None else text)
            kind = command.kind.value
            ctx = Ctx.of(turn, self.services, command.environment)
            self._require_identity(turn)
            handler = self._commands.get(command.kind)
            if handler is None:
                _tell(kind, "denied")
                return self.unavailable(ctx, command.kind)
            card = await handler(ctx, command)
        except Exception as exc:  # the turn boundary: every failure becomes a card
            _tell(kind, outcome_of(exc))
            return await self._answer(turn, ctx, exc)
        _tell(kind, "ok")
        return card

    async def _click(self, turn: Turn, action: CardAction) -> Card:
        ctx: Ctx | None = None
        known = action.verb in self._actions or action.verb in _RUNS_TEXT
        verb = action.verb if known else "unknown"
        try:
            data = dict(action.data)
            if not self.signer.verify(turn.conversation.id, action.verb, data):
                raise StaleCardError
            # (the commands these two run are told by run_text)
            if action.verb == verbs.COMMAND_RUN:
                return await self.run_text(turn, str(data.get(verbs.TEXT, "")))
            if action.verb == verbs.CHOICE_PICK:
                return await self.run_text(turn, _picked(data))
            ctx = Ctx.of(turn, self.services, _text_or_none(data.get("environment")))
            self._require_identity(turn)
            handler = self._actions.get(action.verb)
            if handler is None:
                raise StaleCardError
            card = await handler(ctx, data)
        except Exception as exc:  # the turn boundary: every failure becomes a card
            _tell(verb, outcome_of(exc))
            return await self._answer(turn, ctx, exc)
        _tell(verb, "ok")
        return card

    @staticmethod
    def _require_identity(turn: Turn) -> None:
        if not turn.caller.object_id:
            raise NoIdentityError

    def _sign(self, card: Card, turn: Turn) -> Card:
        return self.signer.sign(card, turn.conversation.id)

    def unavailable(self, ctx: Ctx, kind: CommandKind) -> Card:
        """The answer for a command this deployment does not serve."""
        return error_card(
            ctx.strings,
            ErrorKind.REFUSED,
            correlation_id=ctx.turn.correlation_id,
            environment=ctx.env.name,
            subject=kind.value,
        )

    # ---- failures -----------------------------------------------------------------------

    async def _answer(self, turn: Turn, ctx: Ctx | None, exc: Exception) -> Card:
        """The one place where an exception becomes what the person reads."""
        if ctx is None:
            ctx = Ctx(turn, self.services, self.services.default, translator(turn.locale))
        strings, env = ctx.strings, ctx.env.name
        correlation = turn.correlation_id
        match exc:
            case grammar.UsageError():
                suggestions = [c.text for c in getattr(exc, "candidates", ())]
                return did_you_mean(strings, turn.text or "", suggestions, environment=env)
            case DeniedError():
                return permission_denied(strings, access.denial(exc), environment=env)
            case AmbiguousError():
                candidates = [Candidate(m.id, m.label, m.detail) for m in exc.matches[:20]]
                data = {verbs.TEXT: exc.command_text, "name": exc.text}
                return choice(strings, exc.text, candidates, environment=env, data=data)
            case NothingMatchedError():
                suggestions = [
                    exc.command_text.replace(exc.text, s, 1) if exc.command_text else s
                    for s in exc.suggestions
                ]
                return did_you_mean(strings, exc.text, suggestions, environment=env)
            case UnknownEnvironmentError():
                text = turn.text or ""
                suggestions = [text.replace(exc.name, known) for known in exc.known]
                return did_you_mean(strings, text, suggestions, environment=env)
            case StaleCardError() | NoIdentityError():
                return error_card(
                    strings, ErrorKind.STALE_CARD, correlation_id=correlation, environment=env
                )
            case Throttled():
                return error_card(
                    strings,
                    ErrorKind.THROTTLED,
                    correlation_id=correlation,
                    environment=env,
                    retry_after=exc.retry_after,
                )
            case NotFound():
                return error_card(
                    strings, ErrorKind.NOT_FOUND, correlation_id=correlation, environment=env
                )
            case PreconditionFailed():
                return error_card(
                    strings, ErrorKind.CONFLICT, correlation_id=correlation, environment=env
                )
            case FactsUnavailableError() if _caused_by(exc, NotFound):
                # The directory does not know the caller: not an outage, and not for retry.
                return error_card(
                    strings, ErrorKind.NOT_A_USER, correlation_id=correlation, environment=env
                )
            case ServiceUnavailable() | DataverseRequestError() | FactsUnavailableError():
                kind = (
                    ErrorKind.TIMEOUT
                    if isinstance(exc, DataverseTimeout)
                    else ErrorKind.UNAVAILABLE
                )
                log.warning("Dataverse unavailable in turn %s: %r", correlation, exc)
                return error_card(strings, kind, correlation_id=correlation, environment=env)
            case DataverseStatusError():
                return error_card(
                    strings,
                    ErrorKind.REFUSED,
                    correlation_id=correlation,
                    environment=env,
                    code=exc.code or str(exc.status),
                )
            case InvalidInput():
                return did_you_mean(strings, turn.text or "", [], environment=env)
            case MissingDefault() | ProfileExists() | NotApplied():
                return error_card(
                    strings,
                    ErrorKind.REFUSED,
                    correlation_id=correlation,
                    environment=env,
                    code=type(exc).__name__,
                )
            case DataverseError():
                log.error("Dataverse error in turn %s: %r", correlation, exc)
        log.exception("unexpected error in turn %s", correlation, exc_info=exc)
        return error_card(
            strings, ErrorKind.UNEXPECTED, correlation_id=correlation, environment=env
        )


_RUNS_TEXT = frozenset({verbs.COMMAND_RUN, verbs.CHOICE_PICK})


def outcome_of(exc: Exception) -> str:
    """How a failed command counts: denied (not permitted, or a card that is not ours to
    accept), usage (the request needs rewording or a choice), failed (everything else)."""
    match exc:
        case DeniedError() | StaleCardError() | NoIdentityError():
            return "denied"
        case (
            grammar.UsageError()
            | AmbiguousError()
            | NothingMatchedError()
            | UnknownEnvironmentError()
            | InvalidInput()
        ):
            return "usage"
    return "failed"


def _tell(command: str, outcome: str) -> None:
    observer = command_observer.get()
    if observer is None:
        return
    try:
        observer(command, outcome)
    except Exception:  # an observer is a bystander: the person still gets their answer
        log.exception("the command observer failed")


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether `kind` is among the causes of `exc` (through chains and exception groups)."""
    seen: list[BaseException] = [exc]
    while seen:
        current = seen.pop()
        if isinstance(current, kind):
            return True
        if isinstance(current, BaseExceptionGroup):
            seen.extend(current.exceptions)
        if current.__cause__ is not None:
            seen.append(current.__cause__)
    return False


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _picked(data: dict[str, Any]) -> str:
    """The original request with the ambiguous name replaced by the chosen record's id.

    The name is replaced as a whole word (or quoted phrase), never inside another word:
    "apply default settings to o" must not become "apply default settings t<id> o".
    """
    text = str(data.get(verbs.TEXT, ""))
    name = str(data.get("name", ""))
    picked = str(data.get(verbs.CANDIDATE_ID, ""))
    if not name or not picked:
        raise StaleCardError
    pattern = re.compile(rf"(?<![\w@.'-])(['\"]?){re.escape(name)}\1(?![\w@.'-])")
    matches = list(pattern.finditer(text))
    if not matches:
        raise StaleCardError
    last = matches[-1]  # names follow the verb; the last whole-word match is the argument
    return text[: last.start()] + picked + text[last.end() :]
