"""The sim's direct reading of key chains (`sim.webapi.odata.key_chain_tree`) against the
OData parser it stands in for: the same tree for every text it takes, no tree otherwise."""

from __future__ import annotations

import random
import uuid

import pytest
from odata_query.grammar import ODataLexer, ODataParser

from sim.webapi.odata import key_chain_tree


def _parsed(text: str) -> object:
    return ODataParser().parse(ODataLexer().tokenize(text))


def _guid(rng: random.Random) -> str:
    text = str(uuid.UUID(int=rng.getrandbits(128)))
    return text.upper() if rng.random() < 0.3 else text


def _term(rng: random.Random, name: str) -> str:
    term = f"{name} eq {_guid(rng)}"
    return f"({term})" if rng.random() < 0.5 else term


@pytest.mark.parametrize("seed", range(20))
def test_key_chains_read_as_the_parser_reads_them(seed: int) -> None:
    """Chains as the bot sends them (`(mailboxid eq …) or (…)`, up to 200 ids), bare and
    parenthesised terms, upper-case GUIDs, several properties, one term alone."""
    rng = random.Random(seed)
    names = ["mailboxid", "_regardingobjectid_value", "Mailboxid", "x", "_a1"]
    length = rng.choice([1, 2, 3, 100, 200])
    text = " or ".join(_term(rng, rng.choice(names)) for _ in range(length))
    tree = key_chain_tree(text)
    assert tree is not None
    assert tree == _parsed(text)


@pytest.mark.parametrize(
    "text",
    [
        "true eq 3b000000-0000-4000-8000-000000000001",  # a literal, not a property
        "null eq 3b000000-0000-4000-8000-000000000001",
        "mailboxid eq 3b000000-0000-4000-8000-000000000001 and x eq "
        "3b000000-0000-4000-8000-000000000002",
        "mailboxid ne 3b000000-0000-4000-8000-000000000001",
        "mailboxid eq '3b000000-0000-4000-8000-000000000001'",
        "(mailboxid eq 3b000000-0000-4000-8000-000000000001",
        "mailboxid eq 3b000000-0000-4000-8000-000000000001)",
        "mailboxid  eq 3b000000-0000-4000-8000-000000000001",
        "mailboxid EQ 3b000000-0000-4000-8000-000000000001",
        "a.b eq 3b000000-0000-4000-8000-000000000001",
        "mailboxid eq 3b000000-0000-4000-8000-000000000001 or ",
        "",
    ],
)
def test_other_texts_are_left_to_the_parser(text: str) -> None:
    """Anything but a plain chain of `<property> eq <guid>` is the parser's to read (or
    refuse): no tree, so the answer cannot differ from the parser's."""
    assert key_chain_tree(text) is None
