"""Dataverse version strings (``RetrieveVersion``) compared numerically, part by part.

String comparison is wrong for these: ``"9.2.3.1" > "9.2.22104.00170"`` as text, while
version 9.2.3 is far older. Missing trailing parts count as zero.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache, total_ordering
from typing import Final

_VERSION_RE: Final = re.compile(r"^\d+(\.\d+)*$")


@total_ordering
@dataclass(frozen=True)
class Version:
    """A parsed Dataverse version such as ``9.2.22104.00170``."""

    parts: tuple[int, ...]

    @classmethod
    def parse(cls, text: str) -> Version | None:
        """Parse ``text``; ``None`` when it is not dot-separated digits."""
        cleaned = text.strip()
        if not _VERSION_RE.match(cleaned):
            return None
        return cls(tuple(int(part) for part in cleaned.split(".")))

    def _padded(self, length: int) -> tuple[int, ...]:
        return self.parts + (0,) * (length - len(self.parts))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        length = max(len(self.parts), len(other.parts))
        return self._padded(length) == other._padded(length)

    def __hash__(self) -> int:
        trimmed = list(self.parts)
        while trimmed and trimmed[-1] == 0:
            trimmed.pop()
        return hash(tuple(trimmed))

    def __lt__(self, other: Version) -> bool:
        length = max(len(self.parts), len(other.parts))
        return self._padded(length) < other._padded(length)

    def __str__(self) -> str:
        return ".".join(str(part) for part in self.parts)


def version_at_least(actual: str | None, minimum: str) -> bool:
    """Whether ``actual`` is known, well formed and not older than ``minimum``."""
    if actual is None:
        return False
    return _at_least(actual, minimum)


@lru_cache(maxsize=64)
def _at_least(actual: str, minimum: str) -> bool:
    # Few distinct versions meet few minimums; a permission decision asks several times.
    parsed, floor = Version.parse(actual), Version.parse(minimum)
    if parsed is None or floor is None:
        return False
    return parsed >= floor
