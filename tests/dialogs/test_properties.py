"""Properties over arbitrary input: parse never fails in an unplanned way, and names survive."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs.commands import COMMAND_ADAPTER, Approve, BaseCommand, UseProfile
from dialogs.grammar import MAX_INPUT_CHARS, ParseError, UsageError, keywords, parse

# Words a request is made of: keywords, names, punctuation, quotes, odd characters.
_PIECES = st.one_of(
    st.sampled_from(sorted(keywords())),
    st.sampled_from([",", ".", "?", "!", ":", ";", "'", '"', "“", "”", "‘", "’", "&", "-", "="]),
    st.text(max_size=12),
)
_REQUESTS = st.one_of(
    st.text(max_size=200),
    st.lists(_PIECES, max_size=14).map(" ".join),
)


@settings(max_examples=400, deadline=None)
@given(_REQUESTS)
def test_any_text_is_a_command_or_a_usage_error(text: str) -> None:
    try:
        command = parse(text)
    except ParseError as error:
        for candidate in error.candidates:
            assert candidate.text
            assert 0 <= candidate.score <= 100
    except UsageError as error:
        assert error.code
    else:
        assert isinstance(command, BaseCommand)
        assert COMMAND_ADAPTER.validate_json(COMMAND_ADAPTER.dump_json(command)) == command


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=MAX_INPUT_CHARS + 1, max_size=MAX_INPUT_CHARS + 50))
def test_over_long_text_is_always_a_usage_error(text: str) -> None:
    try:
        parse(text)
    except UsageError:
        return
    raise AssertionError("an over-long request was accepted")


# Bare words that the grammar never reads as keywords: names as people type them.
_WORD = st.from_regex(
    r"[A-Za-z0-9À-ÿ@_$%#+/()<>=\-][A-Za-z0-9À-ÿ@_$%#+/()<>='’.\-]{0,15}", fullmatch=True
).filter(lambda w: w.lower() not in keywords() and w[-1] not in ".?!:;" and not w.isdigit())
_BARE_NAME = st.lists(_WORD, min_size=1, max_size=4).map(" ".join)
_QUOTED_NAME = st.text(
    # The grammar drops zero-width characters anywhere in a request, by design.
    st.characters(
        blacklist_categories=["Cs", "Cc"], blacklist_characters='"\u200b\u200c\u200d\u2060\ufeff'
    ),
    min_size=1,
    max_size=40,
).filter(lambda t: t.strip())


@settings(max_examples=300, deadline=None)
@given(_BARE_NAME)
def test_bare_names_round_trip(name: str) -> None:
    assert parse(f"approve {name}") == Approve(targets=(name,))
    assert parse(f"approve mailbox for {name} in prod") == Approve(
        targets=(name,), environment="prod"
    )


@settings(max_examples=300, deadline=None)
@given(_QUOTED_NAME, _BARE_NAME)
def test_quoted_names_round_trip(profile: str, target: str) -> None:
    command = parse(f'use profile "{profile}" for {target}')
    assert command == UseProfile(targets=(target,), profile=profile.strip())


@settings(max_examples=200, deadline=None)
@given(st.lists(_BARE_NAME, min_size=1, max_size=5))
def test_several_targets_round_trip(names: list[str]) -> None:
    text = "approve " + ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1]
    assert parse(text) == Approve(targets=tuple(names))
