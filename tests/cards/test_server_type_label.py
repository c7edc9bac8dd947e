"""How a server profile's type is labelled (issue 13 point 3; reference §2, §12.1)."""

from __future__ import annotations

from cards.i18n import Strings
from cards.labels import server_type_label


def test_the_service_name_wins_over_the_label_of_zero(en: Strings, id_: Strings) -> None:
    """An online environment's Exchange Online profile stores 0 ("Exchange Server" in the
    option set); the read-only `emailservertypename` says what it is."""
    assert server_type_label(en, 0, "Exchange Online") == "Exchange Online"
    assert server_type_label(id_, 0, "Exchange Online") == "Exchange Online"


def test_a_name_that_repeats_the_option_label_stays_localized(id_: Strings) -> None:
    assert server_type_label(id_, 2, "Exchange Server (Hybrid)") == "Exchange Server (Hibrid)"
    assert server_type_label(id_, 3, "exchange online (hybrid)") == "Exchange Online (Hibrid)"


def test_without_a_name_the_option_label_is_shown(en: Strings) -> None:
    assert server_type_label(en, 0, None) == "Exchange Server"
    assert server_type_label(en, 4, "  ") == "IMAP/SMTP"
    assert server_type_label(en, None, None) == "Not set"
    assert server_type_label(en, 9, None) == "Unknown value (9)"


def test_a_name_from_the_service_is_made_safe(en: Strings) -> None:
    shown = server_type_label(en, 9, "**Exchange** " + "x" * 300)
    assert shown.startswith("\\*\\*Exchange\\*\\* ")  # markdown escaped
    assert shown.endswith("…") and len(shown.replace("\\", "")) <= 100
