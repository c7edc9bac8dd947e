"""`$batch` (reference/dataverse.md §6.5; execute-batch-operations-using-web-api, S16).

`POST $batch` with `Content-Type: multipart/mixed; boundary=…`. Each part is
`Content-Type: application/http` + `Content-Transfer-Encoding: binary` followed by an HTTP
request (request line with an absolute or relative URL, headers, JSON body); a part of type
`multipart/mixed; boundary=changeset_…` is a change set. Rules kept:

- at most `Limits.max_batch_parts` operations (1000), change-set members included, else 400;
  no GET inside a change set and no change set inside a change set (400 for the whole batch);
- operations run one after the other, in order (Microsoft's Python SDK, `BatchRequest`:
  "Operations are executed sequentially in the order added"), each taking the sim's base
  latency before it runs, so a batch of N operations takes N latencies plus their processing,
  and each adds its time to the execution-time window when it ends (api-limits.md: batching
  does not avoid that limit); the batch holds one request and one concurrency slot (§6.3,
  `sim.webapi.throttle`);
- a change set is atomic: when one of its operations fails, the
  in-memory changes of the others are rolled back and the change set answers with that one
  error; `Content-ID` values name created rows as `$<id>` for later members of the same change
  set (in the URL or in `@odata.bind` / `@odata.id`); an unknown reference is a 400;
- without `Prefer: odata.continue-on-error` the batch stops at the first failure and answers
  with that failure's status, the failure being its last part; with it, the batch answers
  200 and every operation has its own response;
- every operation is authorized as a request of its own: the batch's token, and the part's
  own `CallerObjectId` or `MSCRMCallerID` header (else the batch's);
- the response is `multipart/mixed; boundary=batchresponse_<uuid>` with `application/http`
  parts `HTTP/1.1 <status> <reason>`, change sets as `changesetresponse_<uuid>`.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Final
from urllib.parse import parse_qsl, unquote, urlsplit

from multidict import CIMultiDict

from sim import rules
from sim.context import Sim
from sim.errors import DataverseFault
from sim.webapi import errors
from sim.webapi.model import (
    API_PREFIX,
    DvRequest,
    DvResponse,
    Transaction,
    WebApi,
    fault_response,
    json_response,
)
from sim.webapi.odata import parse_prefer
from sim.webapi.throttle import Ticket

log = logging.getLogger(__name__)

_BOUNDARY: Final = re.compile(r'boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)
_CHANGESET_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_METHODS: Final = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})

Dispatcher = Callable[[DvRequest], DvResponse]


@dataclass
class Operation:
    method: str
    url: str
    headers: CIMultiDict[str]
    body: bytes
    content_id: str | None


@dataclass
class ChangeSet:
    operations: list[Operation] = field(default_factory=list)


Item = Operation | ChangeSet


@dataclass
class ParsedBatch:
    items: list[Item]
    count: int  # operations, change-set members included


# ---- parsing -----------------------------------------------------------------------------


def _boundary(content_type: str | None) -> str | None:
    if not content_type or not content_type.strip().lower().startswith("multipart/mixed"):
        return None
    m = _BOUNDARY.search(content_type)
    if m is None:
        return None
    return m.group(1) or m.group(2)


def _split(text: str, boundary: str) -> list[list[str]]:
    """The parts of a multipart body, each as its lines (CR kept out)."""
    delimiter = f"--{boundary}"
    closing = f"{delimiter}--"
    parts: list[list[str]] = []
    current: list[str] | None = None
    for raw in text.split("\n"):
        line = raw[:-1] if raw.endswith("\r") else raw
        stripped = line.rstrip()
        if stripped == delimiter:
            if current is not None:
                parts.append(current)
            current = []
        elif stripped == closing:
            if current is not None:
                parts.append(current)
            return parts
        elif current is not None:
            current.append(line)
    raise errors.bad_query(
        f"The batch body is not complete: the closing delimiter '--{boundary}--' is missing."
    )


def _headers(lines: list[str], start: int) -> tuple[CIMultiDict[str], int]:
    """Header lines from `start` up to the first blank line; returns the index after it."""
    headers: CIMultiDict[str] = CIMultiDict()
    i = start
    while i < len(lines) and lines[i].strip():
        name, colon, value = lines[i].partition(":")
        if not colon:
            raise errors.bad_query(f"The batch part header '{lines[i]}' is not valid.")
        headers.add(name.strip(), value.strip())
        i += 1
    return headers, i + 1


def _operation(lines: list[str], mime: CIMultiDict[str], start: int) -> Operation:
    i = start
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines):
        raise errors.bad_query("A batch part has no request line.")
    request_line = lines[i].split()
    if len(request_line) not in (2, 3) or request_line[0].upper() not in _METHODS:
        raise errors.bad_query(f"The request line '{lines[i]}' of a batch part is not valid.")
    headers, body_start = _headers(lines, i + 1)
    body = "\n".join(lines[body_start:]).strip()
    content_id = mime.get("Content-ID") or headers.get("Content-ID")
    return Operation(
        method=request_line[0].upper(),
        url=request_line[1],
        headers=headers,
        body=body.encode("utf-8"),
        content_id=content_id.strip() if content_id else None,
    )


def parse(content_type: str | None, body: bytes, max_parts: int) -> ParsedBatch:
    """Read a `$batch` body; raises DataverseFault (400) when it is not a valid batch."""
    boundary = _boundary(content_type)
    if boundary is None:
        raise errors.bad_query(
            "The content type of a $batch request must be multipart/mixed with a boundary."
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.bad_query("The $batch body is not UTF-8 text.") from None
    items: list[Item] = []
    count = 0

    def counted() -> None:
        nonlocal count
        count += 1
        if count > max_parts:
            raise errors.bad_query(
                f"The number of requests in the batch exceeds the maximum of {max_parts}."
            )

    for lines in _split(text, boundary):
        mime, start = _headers(lines, 0)
        part_type = (mime.get("Content-Type") or "").strip().lower()
        inner = _boundary(mime.get("Content-Type"))
        if inner is not None:
            changeset = ChangeSet()
            for member in _split("\n".join(lines[start:]), inner):
                member_mime, member_start = _headers(member, 0)
                if _boundary(member_mime.get("Content-Type")) is not None:
                    raise errors.bad_query("A change set cannot contain another change set.")
                op = _operation(member, member_mime, member_start)
                if op.method not in _CHANGESET_METHODS:
                    raise errors.bad_query(
                        f"An invalid HTTP method '{op.method}' was detected for a request in a "
                        "change set. Requests in change sets only support the HTTP methods "
                        "'POST', 'PUT', 'DELETE', and 'PATCH'."
                    )
                counted()
                changeset.operations.append(op)
            items.append(changeset)
        elif part_type.startswith("application/http"):
            counted()
            items.append(_operation(lines, mime, start))
        else:
            raise errors.bad_query(
                f"The batch part content type '{part_type or '(none)'}' is not supported: "
                "use application/http or multipart/mixed."
            )
    return ParsedBatch(items, count)


# ---- running -----------------------------------------------------------------------------


@dataclass
class BatchContext:
    sim: Sim
    api: WebApi
    token_object_id: str
    caller_object_id: rules.Impersonation  # the batch's own impersonation headers
    dispatch: Dispatcher
    ticket: Ticket  # the batch's admission: its operations charge their time to it
    latency_s: float = 0.0  # the sim's base latency, per operation


class _Pace:
    """Serves each operation of a batch its base latency, one after the other.

    Waits are aimed at a running deadline (latency plus the processing of the operations so
    far), so the sim's own scheduling delays, when many batches share its event loop, do not
    add up over a long batch: a batch of N operations takes N latencies plus its processing.
    A change set waits its members' latencies before the first one runs, so that no other
    request sees it half done (it is one transaction).
    """

    def __init__(self, ctx: BatchContext) -> None:
        self._ctx = ctx
        self._due = ctx.api.protection.now()

    async def wait(self, operations: int) -> None:
        if self._ctx.latency_s <= 0:
            return
        protection = self._ctx.api.protection
        self._due += self._ctx.latency_s * operations
        wait = self._due - protection.now()
        if wait > 0:
            await protection.serve(wait)

    def run(
        self, op: Operation, txn: Transaction | None, content_ids: dict[str, str]
    ) -> DvResponse:
        protection = self._ctx.api.protection
        started = protection.now()
        resp = _run(self._ctx, op, txn, content_ids)
        self._due += protection.now() - started
        protection.charge(self._ctx.ticket)
        return resp


def _target(url: str, content_ids: dict[str, str]) -> tuple[str, list[tuple[str, str]]]:
    """(path relative to the service root, query items) of a part's request URL."""
    if url.startswith("$"):
        ref, slash, rest = url.partition("/")
        resolved = content_ids.get(ref.split("?")[0])
        if resolved is None:
            raise errors.bad_query(
                f"Content-ID Reference: '{ref.split('?')[0]}' does not exist in the batch context."
            )
        url = resolved + (slash + rest if slash else ref[len(ref.split("?")[0]) :])
    parts = urlsplit(url)
    path = parts.path
    if API_PREFIX in path:
        path = path.split(API_PREFIX, 1)[1]
    elif path.rstrip("/") == API_PREFIX.rstrip("/"):
        path = ""
    elif path.startswith("/"):
        raise errors.no_http_resource(url)
    return unquote(path), parse_qsl(parts.query, keep_blank_values=True)


def _run(
    ctx: BatchContext, op: Operation, txn: Transaction | None, content_ids: dict[str, str]
) -> DvResponse:
    try:
        path, params = _target(op.url, content_ids)
        header = rules.Impersonation.from_headers(op.headers).or_else(ctx.caller_object_id)
        caller = rules.resolve_caller(ctx.sim, ctx.token_object_id, header)
        req = DvRequest(
            sim=ctx.sim,
            api=ctx.api,
            method=op.method,
            path=path,
            params=params,
            headers=op.headers,
            body=op.body,
            caller=caller,
            txn=txn,
            content_ids=content_ids,
        )
        return ctx.dispatch(req)
    except DataverseFault as fault:
        return fault_response(fault)
    except Exception:
        log.exception("batch operation %s %s failed", op.method, op.url)
        return json_response(
            500, {"error": {"code": "0x80040216", "message": "An unexpected error occurred."}}
        )


def _http_part(resp: DvResponse, content_id: str | None) -> str:
    try:
        reason = HTTPStatus(resp.status).phrase
    except ValueError:
        reason = ""
    head = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        head.append(f"Content-ID: {content_id}")
    lines = [*head, "", f"HTTP/1.1 {resp.status} {reason}".rstrip()]
    lines += [f"{k}: {v}" for k, v in resp.headers.items()]
    lines.append("")
    text = "\r\n".join(lines) + "\r\n"
    if resp.body:
        text += resp.body.decode("utf-8")
    return text + "\r\n"


async def execute(ctx: BatchContext, batch: ParsedBatch, prefer: list[str]) -> DvResponse:
    """Run every operation; returns the multipart batch response."""
    pace = _Pace(ctx)
    continue_on_error = parse_prefer(prefer).continue_on_error
    boundary = f"batchresponse_{uuid.uuid4()}"
    chunks: list[str] = []
    status = 200
    for item in batch.items:
        if isinstance(item, Operation):
            await pace.wait(1)
            resp = pace.run(item, None, {})
            chunks.append(_http_part(resp, item.content_id))
            if resp.status >= 400 and not continue_on_error:
                status = resp.status
                break
            continue
        txn = Transaction()
        content_ids: dict[str, str] = {}
        answered: list[tuple[Operation, DvResponse]] = []
        failure: tuple[Operation, DvResponse] | None = None
        await pace.wait(len(item.operations))
        for op in item.operations:
            resp = pace.run(op, txn, content_ids)
            if resp.status >= 400:
                failure = (op, resp)
                break
            answered.append((op, resp))
            if op.content_id and resp.entity_url:
                content_ids[f"${op.content_id}"] = resp.entity_url
        if failure is not None:
            txn.rollback()
            chunks.append(_http_part(failure[1], failure[0].content_id))
            if not continue_on_error:
                status = failure[1].status
                break
            continue
        txn.commit()
        inner = f"changesetresponse_{uuid.uuid4()}"
        body = "".join(f"--{inner}\r\n{_http_part(r, op.content_id)}" for op, r in answered)
        chunks.append(
            f"Content-Type: multipart/mixed; boundary={inner}\r\n\r\n{body}--{inner}--\r\n"
        )
    text = "".join(f"--{boundary}\r\n{chunk}" for chunk in chunks) + f"--{boundary}--\r\n"
    return DvResponse(
        status,
        {"Content-Type": f"multipart/mixed; boundary={boundary}", "OData-Version": "4.0"},
        text.encode("utf-8"),
    )
