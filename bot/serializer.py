"""Activities to and from JSON as msrest does it, without msrest's per-call overheads.

Reading: `Activity().deserialize(body)` gathers the schema's model classes and builds a new
msrest Deserializer for every activity, more than half of the read; `read_activity` reads
with one Deserializer over the same classes, kept for the process.

Writing (the reply):

`Serializer.body(activity, "Activity")` first rebuilds the model (a deserialization pass
that turns dicts in model-typed slots into models), checks every node against the models'
`_validation` rules, then serializes it generically, re-reading the attribute map and
re-transforming every key at every node. For an activity carrying a status card that was
the largest part of the reply (BENCHMARKS.md, "turns").

`activity_json` writes the same JSON directly when msrest would do nothing but copy: every
model on the way has no validation rules, no flattened or additional-properties keys, and
every model-typed slot holds a model. Anything else (a dict where a model belongs, a model
inside `channel_data`, a str subclass) makes it give up, and msrest does the whole activity.
Leaves that need converting (dates, enums, numbers) are converted by msrest itself. Tests
hold the output equal to msrest's for every golden card and for activities of every shape
the bot sends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import botbuilder.schema
from botbuilder.schema import Activity
from msrest import Serializer
from msrest.serialization import Deserializer, Model

from bot.messages import HandedOverCard

_JSON_SCALARS: Final = (str, int, float, bool, type(None))

# The classes msrest's `Model.deserialize` gathers for a botbuilder.schema model: every class
# the package exports.
_SCHEMA_CLASSES: Final = {k: v for k, v in vars(botbuilder.schema).items() if isinstance(v, type)}
_READER: Final = Deserializer(_SCHEMA_CLASSES)  # type: ignore[no-untyped-call]


def read_activity(body: dict[str, Any]) -> Activity:
    """`Activity().deserialize(body)`, with the Deserializer built once; raises as it does."""
    activity: Activity = _READER("Activity", body)
    return activity


def plain_json(value: object) -> bool:
    """Whether `value` is made of dicts with str keys, lists and JSON scalars only."""
    if type(value) is HandedOverCard:
        return True  # built from a `Card`: JSON values only (see HandedOverCard)
    # exact types: msrest may serialize subclasses differently
    if type(value) is dict:
        return all(type(k) is str and plain_json(v) for k, v in value.items())
    if type(value) is list:
        return all(plain_json(v) for v in value)
    return type(value) in _JSON_SCALARS


class _NotACopy(Exception):
    """msrest would do more with this value than copy it."""


# (attribute, JSON key, msrest type) of a model class
_Field = tuple[str, str, str]


def _fields_of(model: type[Model]) -> tuple[_Field, ...] | None:
    """The class's attributes as msrest writes them, or None when msrest does more than
    copy them: validation rules to check, keys to flatten (`a.b`), extra properties."""
    if getattr(model, "_validation", None):
        return None
    fields = []
    for attribute, description in model._attribute_map.items():
        key, kind = description.get("key"), description.get("type")
        if not isinstance(key, str) or not key or "." in key or not isinstance(kind, str):
            return None
        fields.append((attribute, key, kind))
    return tuple(fields)


class _Writer:
    """Writes models as msrest would, for one dependency set (the connector client's)."""

    def __init__(self, serializer: Serializer) -> None:
        self._leaf: Callable[[Any, str], Any] = serializer.serialize_data
        self._fields: dict[type[Model], tuple[_Field, ...] | None] = {}
        dependencies: dict[str, Any] = serializer.dependencies
        self._model_kinds = frozenset(
            name
            for name, cls in dependencies.items()
            if isinstance(cls, type) and issubclass(cls, Model)
        )

    def model(self, value: Model) -> dict[str, Any]:
        cls = type(value)
        try:
            fields = self._fields[cls]
        except KeyError:
            fields = self._fields[cls] = _fields_of(cls)
        if fields is None:
            raise _NotACopy
        out: dict[str, Any] = {}
        for attribute, key, kind in fields:
            try:
                item = getattr(value, attribute)
            except AttributeError:  # msrest reports it in its own words
                raise _NotACopy from None
            if item is not None:
                out[key] = self.value(item, kind)
        return out

    def value(self, item: Any, kind: str) -> Any:
        if kind == "str" and type(item) is str:
            return item
        if kind in self._model_kinds:
            if not isinstance(item, Model):  # msrest would build the model first
                raise _NotACopy
            return self.model(item)
        if kind[0] == "[" and type(item) is list:
            inner = kind[1:-1]
            return [None if i is None else self.value(i, inner) for i in item]
        if kind == "object":
            if plain_json(item):
                return item  # msrest writes an equal copy
            raise _NotACopy
        if kind[0] == "{":
            raise _NotACopy  # dicts of models are rebuilt first; rare in an activity
        return self._leaf(item, kind)


class ReplySerializer(Serializer):
    """msrest's Serializer, writing activities directly when msrest would only copy."""

    def __init__(self, classes: dict[str, type] | None = None) -> None:
        super().__init__(classes)  # type: ignore[no-untyped-call]
        self._writer = _Writer(self)

    def activity_json(self, activity: Activity) -> dict[str, Any] | None:
        """What `body(activity, "Activity")` returns, or None where msrest must do it."""
        try:
            return self._writer.model(activity)
        except _NotACopy:
            return None

    def body(self, data: Any, data_type: str, **kwargs: Any) -> Any:
        if data_type != "Activity" or not isinstance(data, Activity):
            return super().body(data, data_type, **kwargs)  # type: ignore[no-untyped-call]
        if not kwargs:
            written = self.activity_json(data)
            if written is not None:
                return written
        # msrest does it all. It would write a dict subclass in an `object` slot as its
        # str(): a handed-over card goes in as the plain dict it stands for.
        handed_over = [
            (attachment, attachment.content)
            for attachment in data.attachments or ()
            if type(getattr(attachment, "content", None)) is HandedOverCard
        ]
        for attachment, content in handed_over:
            attachment.content = dict(content)
        try:
            return super().body(data, data_type, **kwargs)  # type: ignore[no-untyped-call]
        finally:
            for attachment, content in handed_over:
                attachment.content = content
