"""The `$batch` multipart encoder and decoder, on the shapes Microsoft documents (S16)."""

from __future__ import annotations

import uuid
from email import policy
from email.message import Message
from email.parser import BytesParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataverse.batch import (
    BatchItem,
    BatchRequest,
    ChangeSet,
    chunk_items,
    decode_batch,
    encode_batch,
    match_results,
)
from dataverse.errors import InvalidInput, PreconditionFailed, UnexpectedResponse
from dataverse.models import Mailbox

ROOT = "https://contoso.crm.dynamics.com/api/data/v9.2/"
GINA = uuid.UUID("3b000000-0000-4000-8000-000000000001")
ALICE = uuid.UUID("3b000000-0000-4000-8000-000000000009")


def _parts(content_type: str, body: bytes) -> list[Message]:
    message = BytesParser(policy=policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    return _sub_parts(message)


def _payload(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    return data


def _sub_parts(part: Message) -> list[Message]:
    return [p for p in part.get_payload() if isinstance(p, Message)]


def test_encoding_follows_the_documented_shape() -> None:
    items: list[BatchItem] = [
        BatchRequest.get(Mailbox, GINA, select=["name"]),
        ChangeSet(
            (
                BatchRequest.update(Mailbox, GINA, {"name": "Gina"}, etag='W/"12"'),
                BatchRequest.update(Mailbox, ALICE, {"name": "Alice"}),
            )
        ),
    ]

    content_type, body = encode_batch(items, ROOT)

    assert content_type.startswith("multipart/mixed; boundary=batch_")
    get_part, changeset = _parts(content_type, body)
    assert get_part["Content-Type"] == "application/http"
    assert get_part["Content-Transfer-Encoding"] == "binary"
    assert _payload(get_part).startswith(
        f"GET {ROOT}mailboxes({GINA})?$select=name HTTP/1.1\r\n".encode()
    )
    assert changeset.get_content_type() == "multipart/mixed"
    first, second = _sub_parts(changeset)
    assert (first["Content-ID"], second["Content-ID"]) == ("1", "2")
    patch = _payload(first)
    assert patch.startswith(f"PATCH {ROOT}mailboxes({GINA}) HTTP/1.1\r\n".encode())
    assert b'If-Match: W/"12"\r\n' in patch
    assert b"Content-Type: application/json; type=entry\r\n" in patch
    assert patch.endswith(b'\r\n\r\n{"name":"Gina"}')
    assert b"If-Match: *\r\n" in _payload(second)
    assert body.endswith(b"--\r\n")


RESPONSE_BOUNDARY = "batchresponse_156da4b8-cd2c-4862-a911-4aaab97c001a"
CHANGESET_BOUNDARY = "changesetresponse_1a5db8a1-ec98-42c4-81f6-6bc6adcfa4bc"
RESPONSE = (
    f"--{RESPONSE_BOUNDARY}\r\n"
    "Content-Type: application/http\r\n"
    "Content-Transfer-Encoding: binary\r\n"
    "\r\n"
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: application/json; odata.metadata=minimal\r\n"
    "OData-Version: 4.0\r\n"
    "\r\n"
    '{"@odata.etag":"W/\\"12\\"","mailboxid":"' + str(GINA) + '","name":"Gin\u00e4"}\r\n'
    f"--{RESPONSE_BOUNDARY}\r\n"
    f"Content-Type: multipart/mixed; boundary={CHANGESET_BOUNDARY}\r\n"
    "\r\n"
    f"--{CHANGESET_BOUNDARY}\r\n"
    "Content-Type: application/http\r\n"
    "Content-Transfer-Encoding: binary\r\n"
    "Content-ID: 2\r\n"
    "\r\n"
    "HTTP/1.1 204 No Content\r\n"
    "OData-Version: 4.0\r\n"
    f"OData-EntityId: {ROOT}mailboxes({ALICE})\r\n"
    "\r\n"
    "\r\n"
    f"--{CHANGESET_BOUNDARY}\r\n"
    "Content-Type: application/http\r\n"
    "Content-Transfer-Encoding: binary\r\n"
    "Content-ID: 1\r\n"
    "\r\n"
    "HTTP/1.1 204 No Content\r\n"
    "OData-Version: 4.0\r\n"
    "\r\n"
    "\r\n"
    f"--{CHANGESET_BOUNDARY}--\r\n"
    f"--{RESPONSE_BOUNDARY}\r\n"
    "Content-Type: application/http\r\n"
    "Content-Transfer-Encoding: binary\r\n"
    "\r\n"
    "HTTP/1.1 412 Precondition Failed\r\n"
    "REQ_ID: 5ecd1cb3-1730-4ffc-909c-d44c22270026\r\n"
    "Content-Type: application/json; odata.metadata=minimal\r\n"
    "\r\n"
    '{"error":{"code":"0x80060882","message":"The version of the existing record '
    "doesn't match the RowVersion property provided.\"}}\r\n"
    f"--{RESPONSE_BOUNDARY}--\r\n"
).encode()


def test_decoding_pairs_answers_with_operations() -> None:
    items: list[BatchItem] = [
        BatchRequest.get(Mailbox, GINA),
        ChangeSet(
            (
                BatchRequest.update(Mailbox, GINA, {"name": "Gina"}),
                BatchRequest.update(Mailbox, ALICE, {"name": "Alice"}),
            )
        ),
        BatchRequest.update(Mailbox, ALICE, {"name": "A"}, etag='W/"1"'),
    ]

    groups = decode_batch(f"multipart/mixed; boundary={RESPONSE_BOUNDARY}", RESPONSE)
    results = match_results(items, groups)

    assert [r.status for r in results] == [200, 204, 204, 412]
    row = results[0].row(Mailbox)
    assert (row.id, row.name, row.etag) == (GINA, "Gin\u00e4", 'W/"12"')
    # Answers inside a change set are matched by Content-ID, not by position.
    assert results[1].entity_id is None
    assert results[2].entity_id == ALICE
    error = results[3].error
    assert isinstance(error, PreconditionFailed)
    assert error.code == "0x80060882"
    assert error.request_id == "5ecd1cb3-1730-4ffc-909c-d44c22270026"
    with pytest.raises(PreconditionFailed):
        results[3].row(Mailbox)


def test_bare_line_feeds_are_read_too() -> None:
    body = RESPONSE.replace(b"\r\n", b"\n")

    groups = decode_batch(f'multipart/mixed; boundary="{RESPONSE_BOUNDARY}"', body)

    assert [[a.status for a in g] for g in groups] == [[200], [204, 204], [412]]


def test_a_failed_change_set_answers_for_all_its_operations() -> None:
    items: list[BatchItem] = [
        ChangeSet(
            (
                BatchRequest.update(Mailbox, GINA, {"name": "Gina"}),
                BatchRequest.update(Mailbox, ALICE, {"name": "Alice"}),
            )
        )
    ]
    body = (
        f"--{RESPONSE_BOUNDARY}\r\nContent-Type: application/http\r\n"
        "Content-Transfer-Encoding: binary\r\n\r\n"
        "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n\r\n"
        '{"error":{"code":"0x80040217","message":"mailbox With Id = x Does Not Exist"}}\r\n'
        f"--{RESPONSE_BOUNDARY}--\r\n"
    ).encode()

    results = match_results(
        items, decode_batch(f"multipart/mixed; boundary={RESPONSE_BOUNDARY}", body)
    )

    assert [r.status for r in results] == [404, 404]


def test_not_multipart_is_unexpected() -> None:
    with pytest.raises(UnexpectedResponse):
        decode_batch("application/json", b"{}")


def test_chunks_keep_change_sets_whole() -> None:
    single = BatchRequest.get(Mailbox, GINA)
    pair = ChangeSet((BatchRequest.update(Mailbox, GINA, {"name": "x"}),) * 2)

    chunks = chunk_items([single, single, pair, single], chunk_size=3)

    assert [len(c) for c in chunks] == [2, 2]
    with pytest.raises(InvalidInput):
        chunk_items([single], chunk_size=1001)


@pytest.mark.parametrize(
    ("method", "url", "headers"),
    [
        ("MERGE", "mailboxes", {}),
        ("GET", "mailboxes HTTP/1.1\r\nX: y", {}),
        ("GET", "https://elsewhere.example/api/data/v9.2/mailboxes", {}),
        ("GET", "mailboxes", {"X-Bad": "a\r\nInjected: yes"}),
        ("GET", "mailboxes", {"Bad Name": "x"}),
    ],
)
def test_operations_cannot_smuggle_lines(method: str, url: str, headers: dict[str, str]) -> None:
    with pytest.raises(InvalidInput):
        BatchRequest(method, url, headers=headers)


def test_change_sets_refuse_reads() -> None:
    with pytest.raises(InvalidInput):
        ChangeSet((BatchRequest.get(Mailbox, GINA),))


def test_an_answer_cut_short_is_unexpected() -> None:
    """RFC 2046 §5.1.1: a multipart body ends with its closing delimiter; without it the
    answer was cut off, and what is there is not trusted."""
    body = RESPONSE[: RESPONSE.index(f"--{RESPONSE_BOUNDARY}--".encode())]
    with pytest.raises(UnexpectedResponse):
        decode_batch(f"multipart/mixed; boundary={RESPONSE_BOUNDARY}", body)
    with pytest.raises(UnexpectedResponse):
        decode_batch("multipart/mixed", RESPONSE)  # no boundary to split on


@pytest.mark.parametrize(
    "url",
    [
        "mailboxes",
        f"mailboxes({GINA})?$select=name,emailaddress",
        "mailboxes?$filter=emailaddress eq 'a:b@contoso.com'".replace(" ", "%20"),
        "mailboxes?$filter=name%20eq%20'http://x'",
        "WhoAmI",
        "Microsoft.Dynamics.CRM.TestEmailConfiguration",
    ],
)
def test_relative_urls_are_taken(url: str) -> None:
    """The relative-URL check is one regular expression (no httpx parse per operation):
    what Dataverse's Web API names relative to its root passes, colons after the path's
    first `(`, `?` or `/` included."""
    assert BatchRequest("GET", url).url == url


@pytest.mark.parametrize(
    "url",
    [
        "https://elsewhere.example/api/data/v9.2/mailboxes",
        "HTTP://elsewhere.example/x",
        "//elsewhere.example/api/data/v9.2/mailboxes",
        "mailto:gina@contoso.com",
        "urn:x-y:z",
    ],
)
def test_urls_with_a_scheme_or_host_are_refused(url: str) -> None:
    """RFC 3986 §3.1 and §4.2: a scheme, or a `//` authority, makes a URL not relative."""
    with pytest.raises(InvalidInput):
        BatchRequest("GET", url)


_PAYLOAD_TEXT = st.text(alphabet='ab-\r\n \t{}:"', max_size=40)


@settings(max_examples=200, deadline=None)
@given(
    payloads=st.lists(_PAYLOAD_TEXT, min_size=1, max_size=5),
    padding=st.lists(st.sampled_from(["", " ", "\t ", "  "]), min_size=6, max_size=6),
    line_end=st.sampled_from(["\r\n", "\n"]),
    preamble=_PAYLOAD_TEXT,
    epilogue=_PAYLOAD_TEXT,
)
def test_answers_split_where_rfc_2046_puts_the_delimiters(
    payloads: list[str], padding: list[str], line_end: str, preamble: str, epilogue: str
) -> None:
    """RFC 2046 §5.1.1: a delimiter is `--<boundary>` at the start of a line, then optional
    white space (transport padding) up to the line break; `--<boundary>` anywhere else in a
    part, or followed by other text, is the part's own. Each answer's body comes back whole,
    whatever the payloads hold, with CRLF or bare LF line ends."""
    boundary = "batchresponse_b"
    nl = line_end
    body = "".join(
        [
            f"{preamble}{nl}" if preamble else "",
            *(
                f"--{boundary}{padding[n % 6]}{nl}Content-Type: application/http{nl}{nl}"
                f"HTTP/1.1 200 OK{nl}Content-Type: text/plain{nl}{nl}"
                f"{_inside(boundary, text, nl)}{nl}"
                for n, text in enumerate(payloads)
            ),
            f"--{boundary}--{padding[5]}{nl}{epilogue}",
        ]
    ).encode()

    groups = decode_batch(f"multipart/mixed; boundary={boundary}", body)

    assert [[(a.status, a.content.decode()) for a in g] for g in groups] == [
        [(200, _inside(boundary, text, nl))] for text in payloads
    ]


def _inside(boundary: str, text: str, nl: str) -> str:
    """A payload that names the boundary where it is no delimiter: at a line start but
    followed by other text, and after other text on a line that then ends."""
    return f"[--{boundary}x {text.replace(nl, ' ')}{nl}x--{boundary}{nl}--{boundary}-x]"
