"""The messages ``cards/`` uses, extracted from its source, and a maintenance command that
brings the catalogs up to date with them.

``python -m tests.cards.catalogs`` adds new messages to both catalogs (English filled with
the source text, Indonesian left empty for a translator), drops messages no longer used,
and keeps every existing translation. ``tests/cards/test_i18n.py`` fails until each one is
translated.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import write_po

from cards.i18n import DOMAIN, EXTRACT_KEYWORDS, Language, catalog_path, read_catalog

CARDS_DIR: Final = Path(__file__).resolve().parents[2] / "cards"
_HEADER_COMMENT: Final = """\
# MailOps card strings ({language}).
# Maintained with `python -m tests.cards.catalogs`; translate the empty msgstr entries.
#"""


@dataclass(frozen=True)
class Message:
    """One extracted message: its id (a pair for plurals), its context, where it is."""

    id: str | tuple[str, str]
    context: str | None
    location: tuple[str, int]

    @property
    def key(self) -> str | tuple[str, str]:
        """The catalog key: Babel keys plurals by their singular."""
        return self.id[0] if isinstance(self.id, tuple) else self.id


def used_messages() -> list[Message]:
    """Every message that ``cards/`` passes to the translator or marks with ``N_``/``NP_``."""
    found: list[Message] = []
    for filename, line, message, _comments, context in extract_from_dir(
        CARDS_DIR,
        method_map=[("**.py", "python")],
        keywords=EXTRACT_KEYWORDS,  # type: ignore[arg-type]
    ):
        msgid = (str(message[0]), str(message[1])) if isinstance(message, tuple) else message
        found.append(Message(msgid, context, (filename, line)))
    return found


def _unique(messages: list[Message]) -> Iterator[Message]:
    seen: set[tuple[str | tuple[str, str], str | None]] = set()
    for message in messages:
        if (message.key, message.context) not in seen:
            seen.add((message.key, message.context))
            yield message


def update(language: Language) -> Catalog:
    """The catalog of ``language`` rebuilt from the source, keeping known translations."""
    path = catalog_path(language)
    old = read_catalog(language) if path.exists() else Catalog(locale=language.value)
    new = Catalog(
        locale=language.value,
        domain=DOMAIN,
        header_comment=_HEADER_COMMENT.format(language=language.value),
        project="MailOps",
        version="0.1.0",
        msgid_bugs_address="mailops@contoso.invalid",
        # Keep the header dates of the old catalog so that an update without new messages
        # leaves the file unchanged.
        creation_date=old.creation_date,
        revision_date=old.revision_date,
        last_translator="MailOps maintainers",
        language_team=f"MailOps {language.value}",
        fuzzy=False,
    )
    for message in _unique(used_messages()):
        previous = old.get(message.key, context=message.context)
        string: str | tuple[str, ...]
        if previous is not None and previous.string:
            string = (
                tuple(previous.string)
                if isinstance(previous.string, list | tuple)
                else previous.string
            )
        elif language is Language.EN:
            string = message.id
        else:
            string = ("",) * new.num_plurals if isinstance(message.id, tuple) else ""
        new.add(
            message.id,
            string,
            locations=[(f"cards/{message.location[0]}", message.location[1])],
            context=message.context,
        )
    return new


def main() -> int:
    """Rewrite both catalogs from the source."""
    for language in Language:
        path = catalog_path(language)
        catalog = update(language)  # before opening the file for writing, which empties it
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=99, sort_output=True, include_lineno=False)
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
