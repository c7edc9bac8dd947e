"""Localization: the locale → language rule, complete catalogs in both languages with
matching placeholders, Microsoft's Indonesian vocabulary, and dates per locale."""

from __future__ import annotations

import ast
import gettext
import string
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from babel.messages.catalog import Catalog

from cards.i18n import (
    EXTRACT_KEYWORDS,
    Language,
    Strings,
    language_for,
    load_translations,
    read_catalog,
    translator,
)
from cards.labels import OptionSet, option_label
from tests.cards.catalogs import CARDS_DIR, used_messages
from tests.cards.checks import walk
from tests.cards.samples import BUILDERS


@pytest.mark.parametrize(
    ("locale", "language"),
    [
        ("id-ID", Language.ID),
        ("id", Language.ID),
        ("ID-id", Language.ID),
        ("id_ID", Language.ID),
        ("en-US", Language.EN),
        ("en", Language.EN),
        ("ms-MY", Language.EN),
        ("fr-FR", Language.EN),
        ("", Language.EN),
        (None, Language.EN),
        ("idx", Language.EN),
    ],
)
def test_language_follows_the_activity_locale(locale: str | None, language: Language) -> None:
    assert language_for(locale) is language
    assert translator(locale).language is language


def _catalog(language: Language) -> Catalog:
    return read_catalog(language)


def _fields(text: object) -> set[str]:
    assert isinstance(text, str)
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("language", list(Language))
def test_every_message_used_in_cards_is_translated(language: Language) -> None:
    catalog = _catalog(language)
    missing = []
    for message in used_messages():
        entry = catalog.get(message.key, context=message.context)
        strings = entry.string if entry is not None else ""
        forms = strings if isinstance(strings, tuple) else (strings,)
        if entry is None or not all(forms) or entry.fuzzy:
            missing.append(f"{message.location}: {message.context or ''} {message.id!r}")
    assert not missing, "untranslated (run python -m tests.cards.catalogs):\n" + "\n".join(missing)


@pytest.mark.parametrize("language", list(Language))
def test_placeholders_match(language: Language) -> None:
    for entry in _catalog(language):
        if not entry.id:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        expected = set().union(*(_fields(i) for i in ids))
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        for form in forms:
            assert _fields(form) == expected, (entry.id, form)


@pytest.mark.parametrize("language", list(Language))
def test_catalog_has_no_stale_entries(language: Language) -> None:
    used = {(m.key, m.context) for m in used_messages()}
    stale = [
        (e.id, e.context)
        for e in _catalog(language)
        if e.id and ((e.id[0] if isinstance(e.id, tuple) else e.id), e.context) not in used
    ]
    assert not stale


def test_indonesian_plural_forms() -> None:
    catalog = _catalog(Language.ID)
    assert catalog.num_plurals == 1
    assert translator("id").ngettext("{n} mailbox", "{n} mailboxes", 2) == "2 kotak pesan"
    assert translator("en").ngettext("{n} mailbox", "{n} mailboxes", 1) == "1 mailbox"
    assert translator("en").ngettext("{n} mailbox", "{n} mailboxes", 1200) == "1,200 mailboxes"
    assert translator("id").ngettext("{n} mailbox", "{n} mailboxes", 1200) == "1.200 kotak pesan"


def _literal_calls() -> set[tuple[str, str | None]]:
    # The same calls Babel extracts, found by the Python parser (which also sees calls inside
    # f-strings), so a message can never hide from the catalog tool.
    found: set[tuple[str, str | None]] = set()
    for path in CARDS_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in EXTRACT_KEYWORDS:
                continue
            args = [a.value for a in node.args if isinstance(a, ast.Constant)]
            if name in ("pgettext", "NP_") and len(args) >= 2:
                found.add((str(args[1]), str(args[0])))
            elif args and isinstance(args[0], str):
                found.add((args[0], None))
    return found


def test_the_extractor_sees_every_literal_message() -> None:
    extracted = {(m.key, m.context) for m in used_messages()}
    assert _literal_calls() - extracted == set()


class _Recorder(gettext.NullTranslations):
    """A fallback that records every message the catalog did not have."""

    def __init__(self) -> None:
        super().__init__()
        self.misses: list[str] = []

    def gettext(self, message: str) -> str:
        self.misses.append(message)
        return message

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        self.misses.append(msgid1)
        return msgid1 if n == 1 else msgid2

    def pgettext(self, context: str, message: str) -> str:
        self.misses.append(f"{context}|{message}")
        return message


@pytest.mark.parametrize("language", list(Language))
def test_every_card_finds_all_its_strings(language: Language) -> None:
    translations = load_translations(language)
    recorder = _Recorder()
    translations.add_fallback(recorder)
    strings = Strings(language, UTC, translations)
    for builder in BUILDERS.values():
        builder(strings)
    assert recorder.misses == []


def _texts(card: dict[str, object]) -> set[str]:
    found = set()
    for node in walk(card):
        for key in ("text", "title", "value", "label", "placeholder", "legend", "x"):
            if isinstance(node.get(key), str):
                found.add(node[key])
    return found


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_indonesian_cards_differ_from_english(name: str, en: Strings, id_: Strings) -> None:
    assert _texts(BUILDERS[name](en)) != _texts(BUILDERS[name](id_))


def test_microsoft_indonesian_vocabulary(id_: Strings) -> None:
    assert option_label(id_, OptionSet.APPROVAL, 2) == "Menunggu persetujuan"
    assert option_label(id_, OptionSet.ACT_DELIVERY, 1) == "Sinkronisasi sisi server"
    assert option_label(id_, OptionSet.INCOMING_DELIVERY, 2) == "Sinkronisasi sisi server"
    assert option_label(id_, OptionSet.OUTGOING_DELIVERY, 2) == "Sinkronisasi sisi server"
    assert id_.gettext("Incoming email") == "Email masuk"
    assert id_.gettext("Outgoing email") == "Email keluar"
    assert id_.gettext("Appointments, contacts, and tasks") == "Janji temu, kontak, dan tugas"
    assert id_.gettext("Test & Enable") == "Uji & Aktifkan"
    assert id_.gettext("Process emails only for approved users") == (
        "Proses email hanya untuk pengguna yang disetujui"
    )
    assert id_.gettext("Delegated Mailbox Approver") == (
        "Pemberi Persetujuan Kotak Pesan Terdelegasi"
    )


def test_english_option_labels(en: Strings) -> None:
    assert option_label(en, OptionSet.APPROVAL, 2) == "Pending approval"
    assert option_label(en, OptionSet.ACT_DELIVERY, 1) == "Server-side synchronization"
    assert option_label(en, OptionSet.ACT_DELIVERY, 2) == "None"
    assert option_label(en, OptionSet.INCOMING_DELIVERY, 0) == "None"
    assert option_label(en, OptionSet.TEST_STATUS, 0) == "Not run"
    assert option_label(en, OptionSet.APPROVAL, None) == "Not set"
    assert option_label(en, OptionSet.APPROVAL, 42) == "Unknown value (42)"


def test_dates_follow_the_locale(en: Strings, id_: Strings) -> None:
    moment = datetime(2025, 11, 27, 14, 5, tzinfo=UTC)
    assert en.timestamp(moment) == "Nov 27, 2025, 2:05\u202fPM UTC"  # CLDR: narrow no-break space
    assert id_.timestamp(moment) == "27 Nov 2025 14.05 UTC"


def test_naive_dates_are_utc_and_zones_are_honoured() -> None:
    naive = datetime(2025, 11, 27, 14, 5)  # noqa: DTZ001 - Dataverse-style naive UTC on purpose
    jakarta = translator("id-ID", tz=ZoneInfo("Asia/Jakarta"))
    assert jakarta.timestamp(naive) == "27 Nov 2025 21.05 WIB"
    assert (
        translator("en").timestamp(naive) == "Nov 27, 2025, 2:05\u202fPM UTC"
    )  # CLDR: narrow no-break space
