"""Did you mean: phrasings close to a request that did not parse, keeping the user's names.

Two passes, both checked against the grammar (a suggestion that would not parse is never made):

1. Typo correction. Each word that is not a keyword is compared with the grammar's keywords
   (rapidfuzz, Indel similarity); replacing one or two of them, or all at once, gives candidate
   phrasings, which must parse. "aprove alice" → "approve alice", "uji kotak psan bob" →
   "uji kotak pesan bob". Words that match no keyword are left alone: they are the names.
2. Usage lines. If no correction parses, the keywords of the request are ranked against the
   usage lines of :data:`dialogs.commands.REGISTRY` in both languages, and the request's other
   words fill the placeholders ("alice approve" → "approve alice").

Entity suggestions ("alcie" → "alice") need the directory and are made elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from functools import cache
from itertools import combinations, islice
from typing import Final

from rapidfuzz import fuzz, process

from dialogs.commands import REGISTRY, CommandKind, Language


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A phrasing to offer, the command it runs, and how close it is to what was typed (0–100)."""

    text: str
    kind: CommandKind
    score: float


_WORD: Final = re.compile(r"[^\s,;:.?!\"“”]+")
_PLACEHOLDER: Final = re.compile(r"<[^>]*>")
_WORD_CUTOFF: Final = 75.0
_USAGE_CUTOFF: Final = 70.0
_MAX_WORDS: Final = 12
"""Only the first words are corrected: commands are told apart by their first words."""
_MAX_ATTEMPTS: Final = 40
"""Candidate phrasings parsed at most per request (each parse takes about 0.1 ms)."""
_EDIT_PENALTY: Final = 3.0
_OTHER_LANGUAGE_PENALTY: Final = 10.0


def did_you_mean(
    text: str,
    *,
    accepts: Callable[[str], CommandKind | None],
    vocabulary: Collection[str],
    language: Language = "en",
    position: int | None = None,
    limit: int = 3,
) -> tuple[Suggestion, ...]:
    """The best phrasings close to ``text`` that parse, best first.

    Args:
        text: the request that did not parse.
        accepts: parses a phrasing and gives its kind, or ``None`` if it does not parse.
        vocabulary: the grammar's keywords, lower case.
        language: the language ``text`` seems to be in; usage lines in it rank first.
        position: where the parser stopped; the word there is corrected even if it is a
            keyword ("turn of approval" → "turn off approval").
        limit: at most this many suggestions.
    """
    words = list(_WORD.finditer(text))[:_MAX_WORDS]
    choices = sorted(vocabulary)
    fixes = [
        _fixes(
            match.group().lower(),
            vocabulary,
            choices,
            misplaced=position is not None and match.start() <= position < match.end(),
        )
        for match in words
    ]
    found: dict[str, Suggestion] = {}
    for replacements in islice(_replacement_sets(fixes), _MAX_ATTEMPTS):
        candidate = _replace(text, words, replacements)
        if candidate in found:
            continue
        kind = accepts(candidate)
        if kind is not None:
            score = fuzz.ratio(text.lower(), candidate.lower())
            found[candidate] = Suggestion(
                candidate, kind, score - _EDIT_PENALTY * (len(replacements) - 1)
            )
    if not found:
        for suggestion in _from_usage(text, vocabulary, fixes, accepts, language):
            found.setdefault(suggestion.text, suggestion)
    ranked = sorted(found.values(), key=lambda s: (-s.score, len(s.text)))
    return tuple(ranked[:limit])


def resolve_help_topic(query: str) -> CommandKind | None:
    """The command ``help <query>`` asks about ("approve", "setujui", "test"), if any."""
    index = _topic_index()
    match = process.extractOne(query.lower(), list(index), scorer=fuzz.WRatio, score_cutoff=80)
    return None if match is None else index[match[0]]


def _fixes(
    word: str, vocabulary: Collection[str], choices: list[str], *, misplaced: bool
) -> list[tuple[str, float]]:
    """Keywords ``word`` may be a typo of, best first; none for a keyword in its place."""
    if word in vocabulary and not misplaced:
        return []
    found = [
        (choice, float(score))
        for choice, score, _ in process.extract(
            word, choices, scorer=fuzz.ratio, limit=3, score_cutoff=_WORD_CUTOFF
        )
        if choice != word
    ]
    # two keywords typed without the space between them: "kotakpesan"
    found += [
        (f"{word[:cut]} {word[cut:]}", 95.0)
        for cut in range(1, len(word))
        if word[:cut] in vocabulary and word[cut:] in vocabulary
    ]
    return sorted(found, key=lambda fix: -fix[1])


def _replacement_sets(fixes: list[list[tuple[str, float]]]) -> Iterator[dict[int, str]]:
    """One replacement at a time, then two, then every word's best fix at once."""
    singles = [(index, choice) for index, options in enumerate(fixes) for choice, _ in options]
    for index, choice in singles:
        yield {index: choice}
    for (first, a), (second, b) in combinations(singles, 2):
        if first != second:
            yield {first: a, second: b}
    best = {index: options[0][0] for index, options in enumerate(fixes) if options}
    if len(best) > 2:
        yield best


def _replace(text: str, words: list[re.Match[str]], replacements: dict[int, str]) -> str:
    pieces: list[str] = []
    last = 0
    for index, match in enumerate(words):
        if index in replacements:
            pieces += [text[last : match.start()], replacements[index]]
            last = match.end()
    pieces.append(text[last:])
    return "".join(pieces)


def _from_usage(
    text: str,
    vocabulary: Collection[str],
    fixes: list[list[tuple[str, float]]],
    accepts: Callable[[str], CommandKind | None],
    language: Language,
) -> Iterator[Suggestion]:
    """Usage lines whose keywords resemble the request's, filled with the request's names."""
    keywords: list[str] = []
    names: list[list[str]] = [[]]
    for index, match in enumerate(_WORD.finditer(text)):
        word = match.group()
        options = fixes[index] if index < len(fixes) else []
        if word.lower() in vocabulary or options:
            keywords.append(options[0][0] if options else word.lower())
            if names[-1]:
                names.append([])
        else:
            names[-1].append(word)
    said = " ".join(keywords)
    arguments = [" ".join(run) for run in names if run]
    if not said:
        return
    for info in REGISTRY.values():
        for usage_language, usages in (("en", info.usage_en), ("id", info.usage_id)):
            for usage in usages:
                pattern = " ".join(_PLACEHOLDER.sub(" ", usage).split())
                score = (fuzz.token_set_ratio(said, pattern) + fuzz.ratio(said, pattern)) / 2
                if usage_language != language:
                    score -= _OTHER_LANGUAGE_PENALTY
                if score < _USAGE_CUTOFF:
                    continue
                filled, complete = _fill(usage, arguments)
                if complete and accepts(filled) is None:
                    continue
                yield Suggestion(filled, info.kind, score)


def _fill(usage: str, arguments: list[str]) -> tuple[str, bool]:
    """``usage`` with its placeholders replaced by ``arguments`` in order, and if all were."""
    remaining = iter(arguments)
    complete = True

    def substitute(placeholder: re.Match[str]) -> str:
        nonlocal complete
        argument = next(remaining, None)
        if argument is None:
            complete = False
            return placeholder.group()
        return argument

    return _PLACEHOLDER.sub(substitute, usage), complete


@cache
def _topic_index() -> dict[str, CommandKind]:
    index: dict[str, CommandKind] = {}
    for info in REGISTRY.values():
        index.setdefault(info.title_en.lower(), info.kind)
        index.setdefault(info.title_id.lower(), info.kind)
        for usage in (*info.usage_en, *info.usage_id):
            index.setdefault(usage.split()[0].lower(), info.kind)
    return index
