"""A hardened reader for the small flat XML settings Dataverse keeps in text columns.

`organization.defaultemailsettings` and `organization.orgdborgsettings` hold documents like
`<EmailSettings><IncomingEmailDeliveryMethod>2</IncomingEmailDeliveryMethod>…</EmailSettings>`.
defusedxml is not available, so this parses with expat directly and refuses any document
type declaration, entity declaration or external entity: the inputs never need one, and
refusing them rules out entity-expansion and external-entity attacks.
"""

from __future__ import annotations

from typing import Final
from xml.parsers import expat

from dataverse.errors import InvalidInput

MAX_XML_BYTES: Final = 1_000_000


class UnsafeXml(InvalidInput):
    """The XML declares a DTD or entities, is too large, or is not well formed."""


def _refuse(*_args: object) -> None:
    msg = "XML with a DTD or entity declarations is refused"
    raise UnsafeXml(msg)


def flat_settings(document: str, *, root: str) -> dict[str, str]:
    """`{child element name: text}` for the children of the `root` element.

    Nested elements below the children are ignored; a repeated child keeps its last value.
    """
    data = document.encode("utf-8")
    if len(data) > MAX_XML_BYTES:
        msg = f"XML settings larger than {MAX_XML_BYTES} bytes are refused"
        raise UnsafeXml(msg)
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse  # type: ignore[assignment]

    settings: dict[str, str] = {}
    stack: list[str] = []
    text: list[str] = []
    root_seen = False

    def start(name: str, _attrs: dict[str, str]) -> None:
        nonlocal root_seen
        if not stack:
            if name != root:
                msg = f"expected <{root}>, found <{name}>"
                raise UnsafeXml(msg)
            root_seen = True
        stack.append(name)
        if len(stack) == 2:
            text.clear()

    def end(name: str) -> None:
        if len(stack) == 2:
            settings[name] = "".join(text).strip()
        stack.pop()

    def chars(data: str) -> None:
        if len(stack) == 2:
            text.append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        msg = f"XML settings are not well formed: {expat.errors.messages[exc.code]}"
        raise UnsafeXml(msg) from exc
    if not root_seen:
        msg = f"expected a <{root}> document"
        raise UnsafeXml(msg)
    return settings
