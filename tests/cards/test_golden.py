"""Golden files for the key cards: any change to what people see shows up in review.

Regenerate after an intended change with ``CARDS_UPDATE_GOLDEN=1 .venv/bin/pytest
tests/cards/test_golden.py`` and review the diff. (Not a ``MAILOPS_`` variable: the shared
conftest clears those for every test.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Final

import pytest

from cards.i18n import translator
from tests.cards import checks
from tests.cards.samples import BUILDERS

GOLDEN_DIR: Final = Path(__file__).parent / "golden"
UPDATE: Final = os.environ.get("CARDS_UPDATE_GOLDEN") == "1"

GOLDEN: Final = {
    "mailbox_status.en": ("mailbox_status", "en-US"),
    "operation_result_bulk.en": ("operation_result_bulk", "en-US"),
    "permission_denied.id": ("permission_denied", "id-ID"),
    "health_donut.id": ("health_donut", "id-ID"),
    "bulk_preview.en": ("bulk_preview", "en-US"),
}


def _dump(card: object) -> str:
    return json.dumps(card, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_card_matches_its_golden_file(name: str) -> None:
    builder, locale = GOLDEN[name]
    card = BUILDERS[builder](translator(locale))
    checks.check_card(card)
    path = GOLDEN_DIR / f"{name}.json"
    if UPDATE:
        GOLDEN_DIR.mkdir(exist_ok=True)
        path.write_text(_dump(card), encoding="utf-8")
    assert path.exists(), f"no golden file; run with CARDS_UPDATE_GOLDEN=1 to create {path}"
    assert _dump(card) == path.read_text(encoding="utf-8")


def test_no_stray_golden_files() -> None:
    assert {p.stem for p in GOLDEN_DIR.glob("*.json")} == set(GOLDEN)
