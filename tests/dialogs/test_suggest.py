"""Did you mean: typo correction and usage lines (dialogs/suggest.py)."""

from __future__ import annotations

import pytest

from dialogs import grammar, suggest
from dialogs.commands import CommandKind
from dialogs.grammar import ParseError, parse


def _candidates(text: str) -> list[tuple[str, CommandKind]]:
    with pytest.raises(ParseError) as caught:
        parse(text)
    return [(c.text, c.kind) for c in caught.value.candidates]


@pytest.mark.parametrize(
    ("text", "best"),
    [
        ("aprove alice", ("approve alice", CommandKind.APPROVE)),
        ("approve mailbx for alice", ("approve mailbox for alice", CommandKind.APPROVE)),
        ("aprove mailbx for alice", ("approve mailbox for alice", CommandKind.APPROVE)),
        ("rejct bob", ("reject bob", CommandKind.REJECT)),
        ("tset mailbox bob", ("test mailbox bob", CommandKind.TEST_AND_ENABLE)),
        ("stauts of alice", ("status of alice", CommandKind.STATUS)),
        ("pendign approvals", ("pending approvals", CommandKind.PENDING_APPROVALS)),
        ("uji kotak psan bob", ("uji kotak pesan bob", CommandKind.TEST_AND_ENABLE)),
        ("setujui kotak psan alice", ("setujui kotak pesan alice", CommandKind.APPROVE)),
        ("stujui kotak pesan alice", ("setujui kotak pesan alice", CommandKind.APPROVE)),
        ("persetujuan tertunde", ("persetujuan tertunda", CommandKind.PENDING_APPROVALS)),
        (
            "uji semua kotakpesan di profil P",
            ("uji semua kotak pesan di profil P", CommandKind.TEST_PROFILE),
        ),
        ("alice approve", ("approve alice", CommandKind.APPROVE)),
        (
            "turn of approval for users",
            ("turn off approval for users", CommandKind.SET_APPROVAL_REQUIREMENT),
        ),
    ],
)
def test_best_suggestion_keeps_the_users_names(text: str, best: tuple[str, CommandKind]) -> None:
    assert _candidates(text)[0] == best


def test_names_keep_their_case_and_spelling() -> None:
    assert _candidates("aprove Alice O'Brien, bob@contoso.com")[0][0] == (
        "approve Alice O'Brien, bob@contoso.com"
    )


def test_suggestions_are_ranked_best_first_and_bounded() -> None:
    with pytest.raises(ParseError) as caught:
        parse("aprove alice")
    scores = [c.score for c in caught.value.candidates]
    assert scores == sorted(scores, reverse=True)
    assert 1 <= len(scores) <= 3


def test_every_suggestion_that_names_everything_parses() -> None:
    for text in ["aprove alice", "uji kotak psan bob", "alice approve", "pendign approvals"]:
        for candidate, kind in _candidates(text):
            assert parse(candidate).kind is kind


def test_a_missing_argument_suggests_the_usage_line() -> None:
    candidates = _candidates("approve")
    assert candidates[0] == ("approve <mailbox>", CommandKind.APPROVE)


def test_a_missing_scope_suggests_the_scopes() -> None:
    texts = [text for text, _ in _candidates("turn off approval")]
    assert "turn off approval for <users|queues|both>" in texts


def test_indonesian_requests_get_indonesian_usage_first() -> None:
    candidates = _candidates("setujui")
    assert candidates[0] == ("setujui <mailbox>", CommandKind.APPROVE)


@pytest.mark.parametrize("text", ["xyzzy", "hello there", "what is the meaning of life"])
def test_nonsense_gets_no_suggestions(text: str) -> None:
    assert _candidates(text) == []


def test_suggestions_are_checked_by_the_parser() -> None:
    def nothing_parses(_: str) -> CommandKind | None:
        return None

    found = suggest.did_you_mean(
        "aprove alice", accepts=nothing_parses, vocabulary=grammar.keywords()
    )
    # Only unfillable usage lines may remain when nothing parses; never a corrected phrasing.
    assert all("<" in s.text for s in found)


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("approve", CommandKind.APPROVE),
        ("setujui", CommandKind.APPROVE),
        ("aprove", CommandKind.APPROVE),
        ("test", CommandKind.TEST_AND_ENABLE),
        ("uji", CommandKind.TEST_AND_ENABLE),
        ("delegated approver", CommandKind.ADD_DELEGATED_APPROVER),
        ("pending approvals", CommandKind.PENDING_APPROVALS),
        ("on call", CommandKind.WHO_IS_ON_CALL),
        ("peringatan", CommandKind.ALERTS),
        ("qwertyuiop", None),
    ],
)
def test_help_topics(query: str, kind: CommandKind | None) -> None:
    assert suggest.resolve_help_topic(query) is kind


def test_a_misplaced_keyword_is_corrected_where_the_parser_stopped() -> None:
    def accepts(text: str) -> CommandKind | None:
        return CommandKind.APPROVE if text == "off alice" else None

    found = suggest.did_you_mean("of alice", accepts=accepts, vocabulary={"of", "off"}, position=0)
    assert [s.text for s in found] == ["off alice"]
    assert suggest.did_you_mean("of alice", accepts=accepts, vocabulary={"of", "off"}) == ()
