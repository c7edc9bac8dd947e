"""Version strings compared numerically (reference §4.4, seed footnote ¹)."""

from __future__ import annotations

import pytest

from permissions import Version, version_at_least

GATE = "9.2.22104.00170"


@pytest.mark.parametrize(
    ("actual", "expected"),
    [
        ("9.2.22104.00169", False),
        ("9.2.22104.00170", True),
        ("9.2.22104.170", True),
        ("9.2.22104.00171", True),
        ("9.2.22105.00001", True),
        ("9.2.3.1", False),
        ("9.2.3.99999", False),
        ("9.10.0.0", True),
        ("10.0", True),
        ("9.2.22104", False),
        ("9.1.99999.99999", False),
        (" 9.2.25093.00214 ", True),
    ],
)
def test_version_gate_is_numeric(actual: str, expected: bool) -> None:
    """Reference §4.4: compare RetrieveVersion with 9.2.22104.00170 part by part, as numbers
    (as text "9.2.3.1" would sort after "9.2.22104.00170")."""
    assert version_at_least(actual, GATE) is expected


@pytest.mark.parametrize("actual", [None, "", "latest", "9.2.x.1", "9..2", "v9.2"])
def test_unknown_or_malformed_versions_fail_the_gate(actual: str | None) -> None:
    """Deny by default: a version that cannot be read does not pass footnote ¹."""
    assert version_at_least(actual, GATE) is False


def test_trailing_zero_parts_compare_equal() -> None:
    """Missing trailing parts count as zero, consistently for == and hash."""
    assert Version.parse("9.2") == Version.parse("9.2.0.0")
    assert hash(Version.parse("9.2")) == hash(Version.parse("9.2.0.0"))
    assert str(Version.parse("9.2.22104.00170")) == "9.2.22104.170"
