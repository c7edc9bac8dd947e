"""The command models and the registry the help card and the manifest come from."""

from __future__ import annotations

import re
import typing

import pytest
from pydantic import ValidationError

from dialogs.commands import (
    COMMAND_ADAPTER,
    REGISTRY,
    Approve,
    BaseCommand,
    Command,
    CommandKind,
    DeliveryChannel,
    DeliveryMethod,
    SetDefaultEmailSettings,
    SetDeliveryMethods,
    Why,
    option_value,
)
from dialogs.grammar import parse

# reference/dataverse.md §1.2
OPTION_VALUES = [
    (DeliveryChannel.INCOMING, DeliveryMethod.NONE, 0),
    (DeliveryChannel.INCOMING, DeliveryMethod.OUTLOOK, 1),
    (DeliveryChannel.INCOMING, DeliveryMethod.SERVER_SIDE_SYNC, 2),
    (DeliveryChannel.INCOMING, DeliveryMethod.FORWARD_MAILBOX, 3),
    (DeliveryChannel.OUTGOING, DeliveryMethod.NONE, 0),
    (DeliveryChannel.OUTGOING, DeliveryMethod.OUTLOOK, 1),
    (DeliveryChannel.OUTGOING, DeliveryMethod.SERVER_SIDE_SYNC, 2),
    (DeliveryChannel.ACT, DeliveryMethod.OUTLOOK, 0),
    (DeliveryChannel.ACT, DeliveryMethod.SERVER_SIDE_SYNC, 1),
    (DeliveryChannel.ACT, DeliveryMethod.NONE, 2),
]


@pytest.mark.parametrize(("channel", "method", "value"), OPTION_VALUES)
def test_option_values(channel: DeliveryChannel, method: DeliveryMethod, value: int) -> None:
    assert option_value(channel, method) == value


@pytest.mark.parametrize("channel", [DeliveryChannel.OUTGOING, DeliveryChannel.ACT])
def test_forward_mailbox_is_for_incoming_email_only(channel: DeliveryChannel) -> None:
    with pytest.raises(ValueError, match="forward-mailbox"):
        option_value(channel, DeliveryMethod.FORWARD_MAILBOX)


def test_a_parsed_delivery_change_gives_the_values_to_write() -> None:
    command = parse("set incoming, outgoing and appointments, contacts and tasks for bob to sss")
    assert isinstance(command, SetDeliveryMethods)
    assert command.option_values() == {
        DeliveryChannel.INCOMING: 2,
        DeliveryChannel.OUTGOING: 2,
        DeliveryChannel.ACT: 1,
    }
    command = parse("set default email settings incoming none outgoing outlook act none")
    assert isinstance(command, SetDefaultEmailSettings)
    assert command.option_values() == {
        DeliveryChannel.INCOMING: 0,
        DeliveryChannel.OUTGOING: 1,
        DeliveryChannel.ACT: 2,
    }


def test_commands_are_frozen() -> None:
    command = Approve(targets=("alice",))
    with pytest.raises(ValidationError):
        command.targets = ("bob",)  # type: ignore[misc]


@pytest.mark.parametrize(
    "fields",
    [
        {"targets": ()},
        {"targets": ("",)},
        {"targets": ("alice",), "environment": ""},
        {"targets": ("alice",), "language": "fr"},
        {"targets": ("alice",), "kind": "reject"},
        {"targets": ("alice",), "extra": 1},
    ],
)
def test_commands_validate_their_fields(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Approve.model_validate(fields)


def test_a_delivery_change_must_change_something() -> None:
    with pytest.raises(ValidationError):
        SetDeliveryMethods(targets=("bob",))
    with pytest.raises(ValidationError):
        SetDefaultEmailSettings()


def test_json_round_trip_through_the_discriminated_union() -> None:
    for text in [
        "approve alice, bob in prod",
        "why can't I set incoming email for bob to outlook",
        "set default email settings act none profile P",
        "request approval for alice because reasons",
        "help approve",
    ]:
        command = parse(text)
        assert COMMAND_ADAPTER.validate_json(COMMAND_ADAPTER.dump_json(command)) == command


def test_why_only_explains_guarded_commands() -> None:
    with pytest.raises(ValidationError):
        Why.model_validate({"command": {"kind": "help"}})


def _command_models() -> set[type[BaseCommand]]:
    union = typing.get_args(Command)[0]
    return set(typing.get_args(union))


def test_the_registry_covers_every_kind_and_model() -> None:
    assert list(REGISTRY) == list(CommandKind)
    assert {info.model for info in REGISTRY.values()} == _command_models()
    for kind, info in REGISTRY.items():
        assert info.kind is kind
        assert info.model.model_fields["kind"].default is kind


@pytest.mark.parametrize("info", REGISTRY.values(), ids=[k.value for k in REGISTRY])
def test_registry_texts_fit_the_teams_manifest(info: typing.Any) -> None:
    # commandLists[].commands[]: title at most 32 characters, description at most 128.
    for language in ("en", "id"):
        assert 0 < len(info.title(language)) <= 32
        assert 0 < len(info.help(language)) <= 128
        assert info.examples(language)
        assert info.usage(language)


def test_titles_are_unique_per_language() -> None:
    for language in ("en", "id"):
        titles = [info.title(language) for info in REGISTRY.values()]
        assert len(set(titles)) == len(titles)


EXAMPLES = [
    (example, info.kind, language)
    for info in REGISTRY.values()
    for language in ("en", "id")
    for example in info.examples(language)
]


@pytest.mark.parametrize(
    ("example", "kind", "language"), EXAMPLES, ids=[e for e, _, _ in EXAMPLES]
)
def test_every_example_parses_to_its_kind_and_language(
    example: str, kind: CommandKind, language: str
) -> None:
    command = parse(example)
    assert command.kind is kind
    assert command.language == language


# A value for every placeholder the usage lines use.
PLACEHOLDERS = {
    "mailbox": "alice",
    "profile": "Contoso EXO",
    "person": "dana",
    "method": "server-side sync",
    "reason": "new hire",
    "number": "20",
    "command": "approve",
    "users|queues|both": "users",
    "pengguna|antrean|keduanya": "pengguna",
}
USAGES = [
    (usage, info.kind) for info in REGISTRY.values() for usage in (*info.usage_en, *info.usage_id)
]


@pytest.mark.parametrize(("usage", "kind"), USAGES, ids=[u for u, _ in USAGES])
def test_every_usage_line_parses_once_filled_in(usage: str, kind: CommandKind) -> None:
    def fill(placeholder: re.Match[str]) -> str:
        value = PLACEHOLDERS[placeholder.group(1)]
        if value == "server-side sync" and "atur" in usage:
            return "sinkronisasi sisi server"
        return value

    assert parse(re.sub(r"<([^>]+)>", fill, usage)).kind is kind
