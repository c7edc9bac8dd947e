"""The request grammar: chat text in English or Indonesian → one typed command.

:func:`parse` is the entry point (:func:`prepare` builds the parser ahead of the first turn,
:func:`keywords` lists the vocabulary), with this error tree::

    UsageError                the request cannot run as typed; ``code`` says why
    ├── EmptyInputError       nothing but whitespace
    ├── InputTooLongError     over MAX_INPUT_CHARS; the parser never sees it
    └── ParseError            no command reads like this; carries "did you mean" candidates

The grammar itself is ``grammar.lark`` beside this module. It runs on lark's LALR(1) parser
with the contextual lexer rather than Earley:

- a turn has a budget of a few milliseconds. LALR reads a request in about a tenth of a
  millisecond, in linear time whatever the input; lark's Earley parser took 10-20 ms per
  request on this same grammar;
- lark refuses an LALR grammar with a reduce/reduce conflict when it builds it, and the tests
  reject shift/reduce conflicts too, so every phrasing has exactly one reading, where Earley
  would have to pick among ambiguous readings of free-text names;
- the contextual lexer is what lets names be free text: a word is a keyword only where the
  parser state accepts that keyword, and a name part (WORD) everywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib.resources import files
from typing import Any, Final

from lark import Lark, Token, Transformer, Tree
from lark.exceptions import UnexpectedInput, VisitError
from lark.lark import PostLex
from lark.lexer import PatternStr
from pydantic import ValidationError

from dialogs import suggest
from dialogs.commands import (
    AddDelegatedApprover,
    Alerts,
    ApplyDefaultSettings,
    ApprovalScope,
    Approve,
    Audit,
    BaseCommand,
    Command,
    CommandKind,
    CreateProfile,
    DeliveryChannel,
    DeliveryMethod,
    FailingMailboxes,
    Help,
    Language,
    MyRequests,
    PendingApprovals,
    PointProfileToChina,
    ProfileAuthentication,
    Reject,
    RemoveDelegatedApprover,
    RequestApproval,
    SetApprovalRequirement,
    SetDefaultEmailSettings,
    SetDefaultProfile,
    SetDeliveryMethods,
    SetOnCallChannel,
    ShowEmailSettings,
    Status,
    SyncFromThisOrgOnly,
    TestAndEnable,
    TestProfile,
    Undo,
    UseProfile,
    WhoIsOnCall,
    Why,
)
from dialogs.suggest import Suggestion

MAX_INPUT_CHARS: Final = 2000
"""Longer requests are refused before parsing (Teams allows ~28 KB; no command needs that)."""

# Invisible characters that phones and rich-text editors slip between words.
_INVISIBLE: Final = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_ONLY_QUESTION_MARKS: Final = re.compile(r"\?+")
_WORDS: Final = re.compile(r"[^\s,;:.?!\"“”]+")


class UsageErrorCode(StrEnum):
    """Why a request cannot run; cards translate the code, not :attr:`UsageError.detail`."""

    EMPTY = "empty"
    TOO_LONG = "too-long"
    UNKNOWN_COMMAND = "unknown-command"
    EMPTY_NAME = "empty-name"
    ONE_NAME_ONLY = "one-name-only"
    DUPLICATE_SETTING = "duplicate-setting"
    INVALID_ARGUMENT = "invalid-argument"


class UsageError(Exception):
    """The request cannot run as typed.

    Args:
        code: the reason, for a localized card.
        detail: an English sentence for logs and tests.
        kind: the command the request was recognized as, when it was.
        language: the language the request seems to be phrased in.
    """

    def __init__(
        self,
        code: UsageErrorCode,
        detail: str,
        *,
        kind: CommandKind | None = None,
        language: Language = "en",
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.kind = kind
        self.language: Language = language


class EmptyInputError(UsageError):
    """Raised for a request that is empty or only whitespace."""

    def __init__(self) -> None:
        super().__init__(UsageErrorCode.EMPTY, "the request is empty")


class InputTooLongError(UsageError):
    """Raised for a request longer than :data:`MAX_INPUT_CHARS`, before any parsing."""

    def __init__(self, length: int, limit: int = MAX_INPUT_CHARS) -> None:
        super().__init__(
            UsageErrorCode.TOO_LONG, f"the request has {length} characters; the limit is {limit}"
        )
        self.length = length
        self.limit = limit


class ParseError(UsageError):
    """Raised when no command reads like the request.

    ``position`` is the character offset where reading stopped (``None`` if unknown), and
    ``candidates`` the "did you mean" phrasings, best first, with the user's own names kept.
    """

    def __init__(
        self,
        text: str,
        position: int | None,
        candidates: tuple[Suggestion, ...],
        *,
        language: Language = "en",
    ) -> None:
        where = "" if position is None else f" at character {position}"
        super().__init__(
            UsageErrorCode.UNKNOWN_COMMAND,
            f"not a command I know{where}: {text!r}",
            kind=candidates[0].kind if candidates else None,
            language=language,
        )
        self.text = text
        self.position = position
        self.candidates = candidates


def parse(text: str) -> Command:
    """Read one request (the bot @mention already removed) into a typed command.

    Raises:
        InputTooLongError: the text is longer than :data:`MAX_INPUT_CHARS`.
        EmptyInputError: the text is empty or whitespace.
        ParseError: no command reads like this; see :attr:`ParseError.candidates`.
        UsageError: a command was recognized but its arguments cannot be used, for example
            two profiles where one is expected or "forward mailbox" for outgoing email.
    """
    if len(text) > MAX_INPUT_CHARS:
        raise InputTooLongError(len(text))
    normalized = text.translate(_INVISIBLE).strip()
    if not normalized:
        raise EmptyInputError
    if _ONLY_QUESTION_MARKS.fullmatch(normalized):
        return Help()
    try:
        tree = _parser().parse(normalized)
    except UnexpectedInput as exc:
        position = exc.pos_in_stream
        if position is not None and position < 0:  # lark's "at the end of the input"
            position = None
        language = _language(normalized, ())
        candidates = suggest.did_you_mean(
            normalized,
            accepts=_kind_of,
            vocabulary=keywords(),
            language=language,
            position=position,
        )
        raise ParseError(normalized, position, candidates, language=language) from None
    return _build(normalized, tree)


def keywords() -> frozenset[str]:
    """Every keyword of the grammar, lower case (the vocabulary for typo correction)."""
    return _keywords()


def prepare() -> None:
    """Build the parser now (about half a second) rather than during the first turn."""
    _parser()


# ---------------------------------------------------------------------------- the parser


class _WordsEverywhere(PostLex):
    """Let every parser state lex WORD, so keywords only ever match whole words.

    Without it, a state expecting only keywords would lex "emails" as "email" + "s".
    """

    always_accept = ("WORD",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        return stream


def _build_parser(*, debug: bool = False) -> Lark:
    """A new parser; ``debug`` makes lark log shift/reduce conflicts (the tests want none)."""
    return Lark(
        files("dialogs").joinpath("grammar.lark").read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        postlex=_WordsEverywhere(),
        g_regex_flags=re.IGNORECASE,
        maybe_placeholders=False,
        debug=debug,
    )


@cache
def _parser() -> Lark:
    return _build_parser()


@cache
def _keywords() -> frozenset[str]:
    return frozenset(
        term.pattern.value.lower()
        for term in _parser().terminals
        if isinstance(term.pattern, PatternStr) and _WORDS.fullmatch(term.pattern.value)
    )


def _kind_of(text: str) -> CommandKind | None:
    """The kind ``text`` parses to, or ``None``; how suggestions are checked."""
    try:
        tree = _parser().parse(text)
        return _build(text, tree).kind
    except (UnexpectedInput, UsageError):
        return None


# ---------------------------------------------------------------------------- the builder


@dataclass(frozen=True, slots=True)
class _Draft:
    """A command before the environment and language are known."""

    model: type[BaseCommand]
    fields: dict[str, Any]
    environment: str | None = None


@dataclass(frozen=True, slots=True)
class _Env:
    name: str


@dataclass(frozen=True, slots=True)
class _Channels:
    channels: tuple[DeliveryChannel, ...]


@dataclass(frozen=True, slots=True)
class _Setting:
    channel: DeliveryChannel | None = None
    method: DeliveryMethod | None = None
    profile: str | None = None


@dataclass(frozen=True, slots=True)
class _HelpTopic:
    text: str


@dataclass(frozen=True, slots=True)
class _Count:
    value: int


@dataclass(frozen=True, slots=True)
class _Organization:
    """The organization's email settings, named by keywords rather than by a name."""


_Targets = tuple[str, ...]
_POSSESSIVE: Final = re.compile(r"['’]s?$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Simple:
    """A command rule whose children map to fields by their type."""

    model: type[BaseCommand]
    targets: str | None = None
    name: str | None = None


# Command rules whose fields follow from their children's types alone; the others have
# a method on _Builder below.
_SIMPLE_RULES: Final[Mapping[str, _Simple]] = {
    "approve": _Simple(Approve, targets="targets"),
    "reject": _Simple(Reject, targets="targets"),
    "test_and_enable": _Simple(TestAndEnable, targets="targets"),
    "status": _Simple(Status, name="target"),
    "alerts": _Simple(Alerts, name="target"),
    "pending_approvals": _Simple(PendingApprovals),
    "my_requests": _Simple(MyRequests),
    "failing_mailboxes": _Simple(FailingMailboxes),
    "apply_default_settings": _Simple(ApplyDefaultSettings, targets="targets"),
    "use_profile": _Simple(UseProfile, targets="targets", name="profile"),
    "sync_from_this_org_only": _Simple(SyncFromThisOrgOnly, targets="targets"),
    "test_profile": _Simple(TestProfile, name="profile"),
    "show_email_settings": _Simple(ShowEmailSettings),
    "add_delegated_approver": _Simple(AddDelegatedApprover, targets="people"),
    "remove_delegated_approver": _Simple(RemoveDelegatedApprover, targets="people"),
    "point_profile_to_china": _Simple(PointProfileToChina, name="profile"),
    "undo": _Simple(Undo, name="target"),
    "who_is_on_call": _Simple(WhoIsOnCall),
    "set_on_call_channel": _Simple(SetOnCallChannel),
}

_ALL_CHANNELS: Final = tuple(DeliveryChannel)


class _Builder(Transformer[Token, Any]):
    """Turns a parse tree into a :class:`_Draft`, remembering where the names were."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text
        self.spans: list[tuple[int, int]] = []

    def _span(self, first: Token, last: Token) -> str:
        start, end = _pos(first.start_pos), _pos(last.end_pos)
        self.spans.append((start, end))
        return self._text[start:end]

    def __default__(self, data: str, children: list[Any], meta: Any) -> Any:
        spec = _SIMPLE_RULES.get(data)
        if spec is None:
            return Tree(data, children, meta)
        fields: dict[str, Any] = {}
        for child in children:
            if isinstance(child, tuple) and spec.targets:
                fields[spec.targets] = child
            elif isinstance(child, str) and spec.name:
                fields[spec.name] = child
        return _Draft(spec.model, fields)

    # names

    def bare(self, words: list[Token]) -> str:
        return self._span(words[0], words[-1])

    def quoted(self, children: list[Token]) -> str:
        (token,) = children
        self._span(token, token)
        name = str(token)[1:-1].strip()
        if not name:
            msg = "a quoted name is empty"
            raise UsageError(UsageErrorCode.EMPTY_NAME, msg)
        return name

    def targets(self, names: list[str]) -> _Targets:
        return tuple(names)

    def possessive(self, children: list[_Targets]) -> _Targets:
        return tuple(_POSSESSIVE.sub("", name) or name for name in children[0])

    def env_name(self, children: list[Token]) -> str:
        (token,) = children
        if token.type == "QUOTED":
            return self.quoted(children)
        return self._span(token, token)

    def env(self, children: list[str]) -> _Env:
        return _Env(children[0])

    def count(self, children: list[Token]) -> _Count:
        (token,) = children
        self._span(token, token)
        if not (token.value.isascii() and token.value.isdigit()):
            msg = f"{token.value!r} is not a number"
            raise UsageError(UsageErrorCode.INVALID_ARGUMENT, msg, kind=CommandKind.AUDIT)
        return _Count(int(token.value))

    def organization(self, _: list[Any]) -> _Organization:
        return _Organization()

    def help_topic(self, words: list[Token]) -> _HelpTopic:
        return _HelpTopic(self._span(words[0], words[-1]))

    # delivery methods

    def incoming(self, _: list[Any]) -> DeliveryChannel:
        return DeliveryChannel.INCOMING

    def outgoing(self, _: list[Any]) -> DeliveryChannel:
        return DeliveryChannel.OUTGOING

    def act(self, _: list[Any]) -> DeliveryChannel:
        return DeliveryChannel.ACT

    def channels(self, children: list[DeliveryChannel]) -> _Channels:
        return _Channels(tuple(children))

    def all_channels(self, _: list[Any]) -> _Channels:
        return _Channels(_ALL_CHANNELS)

    def server_side_sync(self, _: list[Any]) -> DeliveryMethod:
        return DeliveryMethod.SERVER_SIDE_SYNC

    def no_method(self, _: list[Any]) -> DeliveryMethod:
        return DeliveryMethod.NONE

    def outlook(self, _: list[Any]) -> DeliveryMethod:
        return DeliveryMethod.OUTLOOK

    def forward_mailbox(self, _: list[Any]) -> DeliveryMethod:
        return DeliveryMethod.FORWARD_MAILBOX

    def setting_channel(self, children: list[Any]) -> _Setting:
        channel, method = children
        return _Setting(channel=channel, method=method)

    def setting_profile(self, children: list[str]) -> _Setting:
        return _Setting(profile=children[0])

    # scopes and authentication

    def users(self, _: list[Any]) -> ApprovalScope:
        return ApprovalScope.USERS

    def queues(self, _: list[Any]) -> ApprovalScope:
        return ApprovalScope.QUEUES

    def both_scopes(self, _: list[Any]) -> ApprovalScope:
        return ApprovalScope.BOTH

    def oauth(self, _: list[Any]) -> ProfileAuthentication:
        return ProfileAuthentication.OAUTH

    def server_to_server(self, _: list[Any]) -> ProfileAuthentication:
        return ProfileAuthentication.SERVER_TO_SERVER

    # commands with more than a name or two

    def set_delivery_methods(self, children: list[Any]) -> _Draft:
        (channels,) = (c for c in children if isinstance(c, _Channels))
        (method,) = (c for c in children if isinstance(c, DeliveryMethod))
        (targets,) = (c for c in children if isinstance(c, tuple))
        fields = {channel.value: method for channel in channels.channels}
        return _Draft(SetDeliveryMethods, {"targets": targets, **fields})

    def set_default_email_settings(self, settings: list[_Setting]) -> _Draft:
        fields: dict[str, Any] = {}
        for setting in settings:
            key = "profile" if setting.channel is None else setting.channel.value
            if key in fields:
                msg = f"{key} is given twice"
                raise UsageError(
                    UsageErrorCode.DUPLICATE_SETTING,
                    msg,
                    kind=CommandKind.SET_DEFAULT_EMAIL_SETTINGS,
                )
            fields[key] = setting.profile if setting.channel is None else setting.method
        return _Draft(SetDefaultEmailSettings, fields)

    def all_default_methods(self, children: list[DeliveryMethod]) -> _Draft:
        return _Draft(SetDefaultEmailSettings, {c.value: children[0] for c in _ALL_CHANNELS})

    def set_default_profile(self, children: list[_Targets]) -> _Draft:
        return _Draft(
            SetDefaultProfile, {"profile": _single(children[0], CommandKind.SET_DEFAULT_PROFILE)}
        )

    def create_profile(self, children: list[Any]) -> _Draft:
        fields: dict[str, Any] = {"name": children[0]}
        if len(children) > 1:
            fields["authentication"] = children[1]
        return _Draft(CreateProfile, fields)

    def dont_sync(self, children: list[_Targets]) -> _Draft:
        return _Draft(SyncFromThisOrgOnly, {"targets": children[0], "enabled": False})

    def approval_off(self, children: list[ApprovalScope]) -> _Draft:
        return _Draft(SetApprovalRequirement, {"scope": children[0], "required": False})

    def approval_on(self, children: list[ApprovalScope]) -> _Draft:
        return _Draft(SetApprovalRequirement, {"scope": children[0], "required": True})

    def why(self, children: list[_Draft]) -> _Draft:
        return _Draft(Why, {"command": children[0]})

    def help(self, children: list[_HelpTopic]) -> _Draft:
        if not children:
            return _Draft(Help, {})
        query = children[0].text
        return _Draft(Help, {"topic": suggest.resolve_help_topic(query), "query": query})

    def audit(self, children: list[Any]) -> _Draft:
        fields: dict[str, Any] = {}
        for child in children:
            if isinstance(child, _Count):
                fields["limit"] = child.value
            elif isinstance(child, _Organization):
                fields["organization"] = True
            else:
                fields["target"] = child
        return _Draft(Audit, fields)

    def request_approval(self, children: list[Any]) -> _Draft:
        fields: dict[str, Any] = {}
        environment = None
        for child in children:
            if isinstance(child, _Env):
                environment = child.name
            elif isinstance(child, Token):
                fields["reason"] = self._span(child, child).lstrip("-–— ").strip()
            else:
                fields["targets"] = child
        return _Draft(RequestApproval, fields, environment)

    def start(self, children: list[Any]) -> _Draft:
        draft: _Draft = children[0]
        if len(children) > 1:
            return _Draft(draft.model, draft.fields, children[1].name)
        return draft


def _pos(position: int | None) -> int:
    if position is None:  # pragma: no cover - lark always sets token positions
        msg = "token without a position"
        raise AssertionError(msg)
    return position


def _single(names: _Targets, kind: CommandKind) -> str:
    if len(names) != 1:
        msg = f"expected one name, got {len(names)}: {', '.join(names)}"
        raise UsageError(UsageErrorCode.ONE_NAME_ONLY, msg, kind=kind)
    return names[0]


def _build(text: str, tree: Tree[Token]) -> Command:
    builder = _Builder(text)
    try:
        draft: _Draft = builder.transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, UsageError):
            raise exc.orig_exc from None
        raise
    language = _language(text, builder.spans)
    return _instantiate(draft, draft.environment, language)


def _instantiate(draft: _Draft, environment: str | None, language: Language) -> Command:
    fields = dict(draft.fields)
    if draft.model is Why:
        fields["command"] = _instantiate(fields["command"], environment, language)
    kind = CommandKind(draft.model.model_fields["kind"].default)
    try:
        command = draft.model(**fields, environment=environment, language=language)
    except ValidationError as exc:
        detail = "; ".join(error["msg"] for error in exc.errors())
        raise UsageError(
            UsageErrorCode.INVALID_ARGUMENT, detail, kind=kind, language=language
        ) from None
    return command  # type: ignore[return-value]  # every model in the grammar is a Command


def _language(text: str, names: list[tuple[int, int]] | tuple[()]) -> Language:
    """The language of the request's keywords (names excluded): ``"id"`` only if it dominates."""
    keyword_text = text
    for start, end in names:
        keyword_text = keyword_text[:start] + " " * (end - start) + keyword_text[end:]
    indonesian = english = 0
    for word in _WORDS.findall(keyword_text.lower()):
        if word in INDONESIAN_KEYWORDS:
            indonesian += 1
        elif word in ENGLISH_KEYWORDS:
            english += 1
    return "id" if indonesian > english else "en"


INDONESIAN_KEYWORDS: Final = frozenset(
    """
    ada aktifkan aku alamat alasan alasannya anda antrean antrian apa arahkan atau atur
    bagaimana bagi bantuan baru batalkan bawaan berikan bernama bertugas bisa bisakah boleh buat
    buatkan cabut cek cina coba daftar dalam dan dapat dari deh delegasi dengan di didelegasikan
    dong enggak entri ga gagal gak gunakan hanya hapus hidupkan ini izin jadi jadikan jaga jangan
    janji jejak kami kamu kanal karena kasih kau ke keduanya keluar kenapa kepada kontak kotak ku
    lakukan lihat lingkungan lintas makasih mana masuk matikan mematikan membatalkan membuat
    meminta menambahkan mencabut menerapkan mengaktifkan mengapa mengarahkan mengatur menggunakan
    menghapus mengubah menguji menjadi menjadikan menolak menonaktifkan menyalakan menyetujui
    menyinkronkan metode mewajibkan milik minta mintakan mohon nama nggak nonaktifkan nyalakan
    organisasi pada pemberi penerusan pengaturan pengguna pengiriman penyewa peran peringatan
    perintah perlihatkan permintaan permintaanku persetujuan persyaratan perubahan pesan piket
    pindahkan profil saja saluran sama saya sebab sebagai sedang sekarang semua semuanya serta
    setel setujui setujuilah siapa silakan sini sinkronisasi sinkronisasikan sinkronkan sisi
    surat tak tambahkan tampilkan temu terakhir terapkan terdelegasi terima tertunda tes tetapkan
    tidak tiongkok tolak tolong tugas tunjukkan ubah uji untuk urungkan wajibkan ya yang
    """.split()  # noqa: SIM905 - a word list reads best as words
)
"""Grammar keywords that are Indonesian."""

NEUTRAL_KEYWORDS: Final = frozenset(
    """
    & = 21vianet 365 audit china default dynamics e-mail email exchange log menu microsoft
    oauth on-call oncall online org outlook router s2s server sss status
    """.split()  # noqa: SIM905
)
"""Grammar keywords used alike in both languages; they do not count towards either."""

ENGLISH_KEYWORDS: Final = frozenset(
    """
    a accept act add address addresses alert alerts all allowed am an and apply appointments
    approval approvals approve approver approvers are as asap ask assign at back because both
    broken call called can can't cannot cant can’t change changes channel check come commands
    configure contacts could create cross cross-tenant decline defaults delegated delivery deny
    disable display do doing don't dont don’t emails enable entries env environment every
    everyone failed failing for forward from get give grant help here how i in inbound incidents
    incoming is kindly last latest list mailbox mailboxes make method methods move my named new
    none not nothing now of off on only or org's organisation organization outbound outgoing
    pending please pls plz point profile queue queues reason redirect reject remove request
    requests require requirement requiring revert revoke role roll rollback same same-tenant see
    server-side server-to-server serverside set settings show side since state stop switch sync
    synchronisation synchronise synchronization synchronize tasks tenant test thank thanks the
    this thx to trail turn under undo update use user users using view we what what's whats
    what’s which who who's whos who’s why with would you
    """.split()  # noqa: SIM905
)
"""Grammar keywords that are English."""

__all__ = [
    "ENGLISH_KEYWORDS",
    "INDONESIAN_KEYWORDS",
    "MAX_INPUT_CHARS",
    "NEUTRAL_KEYWORDS",
    "EmptyInputError",
    "InputTooLongError",
    "ParseError",
    "UsageError",
    "UsageErrorCode",
    "keywords",
    "parse",
    "prepare",
]
