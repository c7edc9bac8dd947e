"""Localized strings for cards: gettext catalogs (English and Indonesian) and Babel formatting.

The catalogs live in ``cards/locale/<lang>/LC_MESSAGES/mailops.po``. They are read with
Babel's PO reader the first time a language is needed and compiled in memory into a
:class:`babel.support.Translations`; no ``.mo`` files are built or shipped. That costs a few
milliseconds once per process and saves CI, ``make`` and packaging a compile step whose
output could drift from the ``.po`` source (``tests/cards/test_i18n.py`` keeps the two
catalogs complete instead).

Messages use ``str.format`` placeholders (``{count}``), never ``%`` formatting, so the same
named fields appear in both languages in whatever order each needs.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import Final

from babel import Locale
from babel.dates import (
    DateTimePattern,
    get_date_format,
    get_datetime_format,
    get_time_format,
    parse_pattern,
)
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

LOCALE_DIR: Final = Path(__file__).parent / "locale"
DOMAIN: Final = "mailops"


class Language(StrEnum):
    """The languages MailOps answers in."""

    EN = "en"
    ID = "id"


def language_for(locale: str | None) -> Language:
    """The card language for an activity locale: Indonesian for ``id`` and ``id-ID`` (any
    case, ``-`` or ``_``), English for everything else, including a missing locale."""
    if not locale:
        return Language.EN
    primary = locale.strip().replace("_", "-").split("-", 1)[0].lower()
    return Language.ID if primary == Language.ID.value else Language.EN


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it (for tables of labels that are
    translated when shown)."""
    return message


def NP_(context: str, message: str) -> tuple[str, str]:
    """Mark ``message`` in ``context`` for extraction; returns the pair for
    :meth:`Strings.pgettext`."""
    return context, message


EXTRACT_KEYWORDS: Final[dict[str, object]] = {
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "N_": None,
    "NP_": ((1, "c"), 2),
}
"""The calls the catalog check extracts messages from, in Babel's keyword notation."""


def catalog_path(language: Language) -> Path:
    """Where the PO catalog of ``language`` lives."""
    return LOCALE_DIR / language.value / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(language: Language) -> Catalog:
    """Parse the PO catalog of ``language`` (tests use this to check completeness)."""
    with catalog_path(language).open("rb") as handle:
        return read_po(handle, locale=language.value, domain=DOMAIN)


def load_translations(language: Language) -> Translations:
    """Compile the PO catalog of ``language`` in memory; :func:`translator` caches this."""
    buffer = io.BytesIO()
    # Fuzzy entries are left out, as msgfmt does: a guess is worse than the English text.
    write_mo(buffer, read_catalog(language), use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


_translations = functools.cache(load_translations)


def _format(message: str, params: dict[str, object]) -> str:
    return message.format(**params) if params else message


@dataclass(frozen=True)
class Strings:
    """The translator handed to every card builder: messages, plurals and Babel formatting
    for one language. Build it with :func:`translator`."""

    language: Language
    tz: tzinfo = UTC
    _translations: Translations = field(repr=False, compare=False, default_factory=Translations)

    @property
    def locale(self) -> Locale:
        """The Babel locale for dates and numbers."""
        return _formats(self.language).locale

    def gettext(self, message: str, /, **params: object) -> str:
        """Translate ``message`` and fill its ``{placeholders}`` from ``params``."""
        return _format(self._translations.gettext(message), params)

    def pgettext(self, context: str, message: str, /, **params: object) -> str:
        """Translate ``message`` in ``context`` (for words whose translation depends on
        what they label, such as "None" as a delivery method)."""
        return _format(str(self._translations.pgettext(context, message)), params)

    def ngettext(self, singular: str, plural: str, n: int, /, **params: object) -> str:
        """Translate the form for ``n``; ``n`` is also available as ``{n}``."""
        return self._translations.ngettext(singular, plural, n).format(n=self.number(n), **params)

    def number(self, value: int) -> str:
        """``value`` with the locale's digit grouping (12,345 / 12.345)."""
        return format_decimal(value, locale=self.locale)

    def timestamp(self, value: datetime) -> str:
        """A date and time with its zone, e.g. ``Nov 27, 2025, 9:44 AM UTC`` or
        ``27 Nov 2025 09.44 UTC``. Naive values are taken as UTC, which is what Dataverse
        returns."""
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        formats = _formats(self.language)
        local = value.astimezone(self.tz)
        date_text = formats.date.apply(local, formats.locale)
        time_text = formats.time.apply(local, formats.locale)
        zone = formats.zone.apply(local, formats.locale)
        return formats.date_time.replace("{1}", date_text).replace("{0}", f"{time_text} {zone}")

    def yes_no(self, value: bool | None) -> str:
        """Yes / No (Ya / Tidak), or "Not set" for a missing value."""
        if value is None:
            return self.gettext("Not set")
        return self.gettext("Yes") if value else self.gettext("No")


@dataclass(frozen=True)
class _Formats:
    """A language's Babel locale and its timestamp patterns, parsed once: what
    `babel.dates.format_date` and friends look up and parse again on every call (a card shows
    up to a dozen timestamps)."""

    locale: Locale
    date: DateTimePattern  # "medium"
    time: DateTimePattern  # "short"
    zone: DateTimePattern  # "z"
    date_time: str  # how the locale joins them: "{1}, {0}"


@functools.cache
def _formats(language: Language) -> _Formats:
    locale = Locale.parse(language.value)
    return _Formats(
        locale,
        parse_pattern(get_date_format("medium", locale=locale)),
        parse_pattern(get_time_format("short", locale=locale)),
        parse_pattern("z"),
        str(get_datetime_format("medium", locale=locale)),
    )


def translator(locale: str | None, *, tz: tzinfo = UTC) -> Strings:
    """The :class:`Strings` for an activity locale (see :func:`language_for`); dates are shown
    in ``tz`` (UTC unless the caller knows the person's zone)."""
    language = language_for(locale)
    return Strings(language, tz, _translations(language))
