"""OData `$batch` for Dataverse: the request types, the multipart encoder and decoder.

The body is `multipart/mixed` (reference/dataverse.md §6.5): each operation is an
`application/http` part with `Content-Transfer-Encoding: binary` holding the inner request
line, headers and JSON body; a change set is a nested `multipart/mixed` part whose
operations run atomically. The answer has the same shape. Both directions are written out
here: no installed library writes `application/http` parts, and the standard library's
`email` parser, which can read the framing, costs about 2 ms per part (its header registry
parses every Content-Type), which was most of a bulk run's client CPU. The framing read here
is what RFC 2046 §5.1.1 says of `multipart`: a part starts after a line `--<boundary>`,
ends at the line break before the next one, and `--<boundary>--` closes the body; a part's
headers end at its first empty line. Parts are `Content-Transfer-Encoding: binary`, as
Dataverse sends them.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import httpx
from pydantic import ValidationError

from dataverse._http import dump_json
from dataverse.errors import (
    DataverseError,
    InvalidInput,
    UnexpectedResponse,
    error_from_response,
)
from dataverse.models import DataverseRow
from dataverse.odata import Query, encode_params, identifier, key_segment, parse_guid

R = TypeVar("R", bound=DataverseRow)

MAX_BATCH_OPERATIONS: Final = 1000  # per batch request (§6.5)
_METHODS: Final = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})
# Inner URLs and header values go into the body verbatim: no whitespace or control
# characters may sneak another line (or another part) in.
_URL_SAFE: Final = re.compile(r"[^\s\x00-\x1f\x7f]+")
# A URL that names its own scheme (RFC 3986 §3.1: `scheme ":"` before any `/`, `?` or `#`)
# or authority (`//host`, §4.2) is not relative to the Web API root. Checked with one
# regular expression rather than by parsing the URL with httpx, which validates it
# character by character: that was most of what building a bulk run's 10,000 operations
# cost the client.
_NOT_RELATIVE: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:|//")
_HEADER_NAME: Final = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
_STATUS_LINE: Final = re.compile(r"HTTP/\d(?:\.\d)?\s+(\d{3})(?:\s+(.*))?")
_ENTITY_ID: Final = re.compile(r"\(([0-9a-fA-F-]{36})\)\s*$")
_BOUNDARY: Final = re.compile(r'boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)


@dataclass(frozen=True)
class BatchRequest:
    """One operation inside a `$batch`. `url` is relative to the Web API root."""

    method: str
    url: str
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content_id: str | None = None

    def __post_init__(self) -> None:
        if self.method.upper() not in _METHODS:
            msg = f"method not allowed in a batch: {self.method!r}"
            raise InvalidInput(msg)
        if not _URL_SAFE.fullmatch(self.url) or _NOT_RELATIVE.match(self.url):
            msg = f"batch URLs must be relative and free of whitespace: {self.url!r}"
            raise InvalidInput(msg)
        for name, value in self.headers.items():
            if not _HEADER_NAME.fullmatch(name) or any(c in value for c in "\r\n\x00"):
                msg = f"bad header in a batch operation: {name!r}"
                raise InvalidInput(msg)
        if self.content_id is not None and not re.fullmatch(r"[A-Za-z0-9_.-]+", self.content_id):
            msg = f"bad Content-ID: {self.content_id!r}"
            raise InvalidInput(msg)

    @classmethod
    def get(
        cls, model: type[R], row_id: str | uuid.UUID, select: Sequence[str] | None = None
    ) -> BatchRequest:
        query = Query(select=tuple(select) if select is not None else model.columns())
        path = key_segment(model.entity_set, parse_guid(row_id))
        return cls("GET", f"{path}?{encode_params(query.params())}")

    @classmethod
    def query(cls, model: type[R], query: Query) -> BatchRequest:
        if not query.select:
            query = query.with_select(*model.columns())
        return cls("GET", f"{identifier(model.entity_set)}?{encode_params(query.params())}")

    @classmethod
    def update(
        cls,
        model: type[R],
        row_id: str | uuid.UUID,
        changes: Mapping[str, Any],
        *,
        etag: str = "*",
    ) -> BatchRequest:
        """PATCH with If-Match (`*` by default, so a missing row is not created)."""
        path = key_segment(model.entity_set, parse_guid(row_id))
        return cls("PATCH", path, body=dict(changes), headers={"If-Match": check_etag(etag)})

    @classmethod
    def create(cls, model: type[R], values: Mapping[str, Any]) -> BatchRequest:
        return cls("POST", identifier(model.entity_set), body=dict(values))

    @classmethod
    def delete(cls, model: type[R], row_id: str | uuid.UUID, *, etag: str = "*") -> BatchRequest:
        path = key_segment(model.entity_set, parse_guid(row_id))
        return cls("DELETE", path, headers={"If-Match": check_etag(etag)})


@dataclass(frozen=True)
class ChangeSet:
    """Operations that succeed or fail together. GET is not allowed inside one."""

    requests: tuple[BatchRequest, ...]

    def __post_init__(self) -> None:
        if not self.requests:
            msg = "an empty change set"
            raise InvalidInput(msg)
        if len(self.requests) > MAX_BATCH_OPERATIONS:
            msg = f"a change set may hold at most {MAX_BATCH_OPERATIONS} operations"
            raise InvalidInput(msg)
        if any(r.method.upper() == "GET" for r in self.requests):
            msg = "GET is not allowed inside a change set"
            raise InvalidInput(msg)


BatchItem = BatchRequest | ChangeSet


@dataclass(frozen=True)
class BatchResult:
    """The outcome of one operation of a batch.

    `status` is None when the operation did not run: the batch stopped before it, or its
    whole chunk failed (then `error` says why).
    """

    request: BatchRequest
    status: int | None
    headers: Mapping[str, str]
    body: Any
    error: DataverseError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and self.status < 400

    @property
    def entity_id(self) -> uuid.UUID | None:
        """The id of a created or updated row, from the OData-EntityId header."""
        header = next((v for k, v in self.headers.items() if k.lower() == "odata-entityid"), "")
        return entity_id_from(header)

    def row(self, model: type[R]) -> R:
        """The body as a typed row (a GET, or a write with return=representation)."""
        if self.error is not None:
            raise self.error
        if not isinstance(self.body, dict):
            msg = f"batch operation {self.request.method} {self.request.url} returned no row"
            raise UnexpectedResponse(msg)
        try:
            return model.model_validate(self.body)
        except ValidationError as exc:
            msg = f"a {model.__name__} row in a batch answer does not fit the model"
            raise UnexpectedResponse(msg) from exc


def entity_id_from(header: str) -> uuid.UUID | None:
    """The GUID at the end of an `OData-EntityId` URL (`…/mailboxes(<id>)`)."""
    match = _ENTITY_ID.search(header)
    return uuid.UUID(match.group(1)) if match else None


def check_etag(etag: str) -> str:
    """`*`, or an entity tag such as `W/"470867"`."""
    if etag == "*" or re.fullmatch(r'(W/)?"[^"\r\n\x00]*"', etag or ""):
        return etag
    msg = f"not an ETag: {etag!r}"
    raise InvalidInput(msg)


def count_operations(items: Sequence[BatchItem]) -> int:
    return sum(len(i.requests) if isinstance(i, ChangeSet) else 1 for i in items)


def flatten(items: Sequence[BatchItem]) -> list[BatchRequest]:
    out: list[BatchRequest] = []
    for item in items:
        out.extend(item.requests if isinstance(item, ChangeSet) else (item,))
    return out


def _operation(request: BatchRequest, api_root: str, content_id: str | None) -> bytes:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"{request.method.upper()} {api_root}{request.url} HTTP/1.1"]
    lines.append("Accept: application/json")
    names = {k.lower() for k in request.headers}
    lines += [f"{k}: {v}" for k, v in request.headers.items()]
    payload = b""
    if request.body is not None:
        if "content-type" not in names:
            lines.append("Content-Type: application/json; type=entry")
        payload = dump_json(request.body)
    head = "\r\n".join(lines).encode() + b"\r\n\r\n"
    return head + payload + b"\r\n"


def encode_batch(items: Sequence[BatchItem], api_root: str) -> tuple[str, bytes]:
    """(`Content-Type` header value, body) of a `$batch` request.

    `api_root` is the absolute Web API root ending in `/`; inner request lines use absolute
    URLs, as Microsoft's examples do.
    """
    batch_boundary = f"batch_{uuid.uuid4()}"
    chunks: list[bytes] = []
    for item in items:
        chunks.append(f"--{batch_boundary}\r\n".encode())
        if isinstance(item, ChangeSet):
            cs_boundary = f"changeset_{uuid.uuid4()}"
            chunks.append(
                f"Content-Type: multipart/mixed; boundary={cs_boundary}\r\n\r\n".encode()
            )
            for number, request in enumerate(item.requests, start=1):
                chunks.append(f"--{cs_boundary}\r\n".encode())
                chunks.append(_operation(request, api_root, request.content_id or str(number)))
            chunks.append(f"--{cs_boundary}--\r\n".encode())
        else:
            chunks.append(_operation(item, api_root, item.content_id))
    chunks.append(f"--{batch_boundary}--\r\n".encode())
    return f"multipart/mixed; boundary={batch_boundary}", b"".join(chunks)


@dataclass(frozen=True)
class _InnerResponse:
    status: int
    reason: str
    headers: dict[str, str]
    content: bytes
    content_id: str | None


def _parse_http(payload: bytes, content_id: str | None) -> _InnerResponse:
    text = payload.lstrip(b"\r\n")
    head, sep, body = text.partition(b"\r\n\r\n")
    if not sep:
        head, _, body = text.partition(b"\n\n")
    lines = head.decode("iso-8859-1").splitlines()
    match = _STATUS_LINE.fullmatch(lines[0].strip()) if lines else None
    if match is None:
        msg = "a batch answer part has no HTTP status line"
        raise UnexpectedResponse(msg)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip()] = value.strip()
    return _InnerResponse(
        status=int(match.group(1)),
        reason=match.group(2) or "",
        headers=headers,
        content=body.rstrip(b"\r\n") if body.strip() else b"",
        content_id=content_id,
    )


def _boundary(content_type: str) -> str | None:
    if "multipart/mixed" not in content_type.lower():
        return None
    match = _BOUNDARY.search(content_type)
    return (match.group(1) or match.group(2)) if match else None


def _delimiters(body: bytes, boundary: str) -> Iterator[tuple[int, int, bool]]:
    """(start, end, closing) of each delimiter line of a multipart body: `--<boundary>`
    (`--<boundary>--` when `closing`) at the start of the body or of a line, then optional
    spaces or tabs up to a line break or the end. `start` includes the line break before the
    delimiter, which belongs to it (RFC 2046 §5.1.1); `end` is where its own line break is.

    The pattern starts with the boundary, a literal, so the regular expression engine
    jumps from one candidate to the next; the line start is checked here (a pattern that
    begins with it tries every position of the body, most of a batch answer's decoding).
    """
    pattern = re.compile(b"--" + re.escape(boundary.encode()) + rb"(--)?[ \t]*(?=\r?\n|\Z)")
    for match in pattern.finditer(body):
        at = match.start()
        if at == 0:
            yield 0, match.end(), match.group(1) is not None
        elif body[at - 1] == 0x0A:  # "\n"
            start = at - 2 if at >= 2 and body[at - 2] == 0x0D else at - 1  # "\r\n"
            yield start, match.end(), match.group(1) is not None


def _parts(body: bytes, boundary: str) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart body: each part's headers (names lower-cased), payload."""
    parts: list[tuple[dict[str, str], bytes]] = []
    opened: int | None = None  # where the current part's text starts
    for start, end, closing in _delimiters(body, boundary):
        if opened is not None:
            parts.append(_part(body[opened:start]))
        if closing:
            return parts
        opened = end
    msg = "the $batch answer is not complete: its closing delimiter is missing"
    raise UnexpectedResponse(msg)


def _part(part: bytes) -> tuple[dict[str, str], bytes]:
    part = part[2:] if part.startswith(b"\r\n") else part[1:]  # the delimiter's line end
    head, sep, payload = part.partition(b"\r\n\r\n")
    if not sep:
        head, sep, payload = part.partition(b"\n\n")
    if not sep:
        head, payload = part, b""
    headers: dict[str, str] = {}
    for line in head.decode("iso-8859-1").splitlines():
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return headers, payload


def decode_batch(content_type: str, body: bytes) -> list[list[_InnerResponse]]:
    """One list per top-level part: a single answer, or the answers of a change set."""
    if "multipart/mixed" not in content_type.lower():
        msg = f"a $batch answer should be multipart/mixed, not {content_type!r}"
        raise UnexpectedResponse(msg)
    if any(c in content_type for c in "\r\n"):
        msg = "malformed Content-Type on a $batch answer"
        raise UnexpectedResponse(msg)
    boundary = _boundary(content_type)
    if boundary is None:
        msg = "the $batch answer could not be split into parts: no boundary"
        raise UnexpectedResponse(msg)
    groups: list[list[_InnerResponse]] = []
    for headers, payload in _parts(body, boundary):
        inner = _boundary(headers.get("content-type", ""))
        if inner is not None:
            groups.append(
                [
                    _parse_http(sub_payload, sub.get("content-id"))
                    for sub, sub_payload in _parts(payload, inner)
                ]
            )
        else:
            groups.append([_parse_http(payload, headers.get("content-id"))])
    return groups


def _result(request: BatchRequest, answer: _InnerResponse) -> BatchResult:
    parsed: Any = None
    if answer.content:
        try:
            parsed = json.loads(answer.content)
        except (ValueError, UnicodeDecodeError):
            parsed = answer.content.decode("utf-8", errors="replace")
    error: DataverseError | None = None
    if answer.status >= 400:
        response = httpx.Response(answer.status, headers=answer.headers, content=answer.content)
        error = error_from_response(response, service="dataverse")
    return BatchResult(request, answer.status, answer.headers, parsed, error)


def not_run(request: BatchRequest, error: DataverseError | None = None) -> BatchResult:
    return BatchResult(request, None, {}, None, error)


def match_results(
    items: Sequence[BatchItem], groups: list[list[_InnerResponse]]
) -> list[BatchResult]:
    """Pair each operation with its answer, in the order the operations were given."""
    results: list[BatchResult] = []
    for position, item in enumerate(items):
        answers = groups[position] if position < len(groups) else []
        if isinstance(item, BatchRequest):
            results.append(_result(item, answers[0]) if answers else not_run(item))
            continue
        if len(answers) == 1 and len(item.requests) > 1 and answers[0].status >= 400:
            # A failed change set answers once, for all of its operations.
            results.extend(_result(r, answers[0]) for r in item.requests)
            continue
        by_id = {a.content_id: a for a in answers if a.content_id is not None}
        for number, request in enumerate(item.requests, start=1):
            cid = request.content_id or str(number)
            answer = by_id.get(cid) or (answers[number - 1] if number <= len(answers) else None)
            results.append(_result(request, answer) if answer else not_run(request))
    return results


def chunk_items(items: Sequence[BatchItem], chunk_size: int) -> list[list[BatchItem]]:
    """Split into batches of at most `chunk_size` operations.

    Change sets stay whole: one larger than `chunk_size` travels alone.
    """
    if not 1 <= chunk_size <= MAX_BATCH_OPERATIONS:
        msg = f"chunk_size must be between 1 and {MAX_BATCH_OPERATIONS}"
        raise InvalidInput(msg)
    chunks: list[list[BatchItem]] = []
    current: list[BatchItem] = []
    size = 0
    for item in items:
        weight = len(item.requests) if isinstance(item, ChangeSet) else 1
        if current and size + weight > chunk_size:
            chunks.append(current)
            current, size = [], 0
        current.append(item)
        size += weight
    if current:
        chunks.append(current)
    return chunks
