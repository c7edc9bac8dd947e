"""`DataverseClient`: the Dataverse Web API as typed async verbs.

The typed verbs (`get_mailbox`, `alerts`, `security_roles`, …) are what the rest of the
bot calls. They are built on a few generic primitives (`get_row`, `iter_rows`,
`update_row`, `batch`, …) that take a row model and return instances of it, so OData
details (`$select`, `$filter`, `If-Match`, `Prefer`, paging) stay in this module.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, Generic, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from dataverse._http import HttpEngine, RetryPolicy, Sleep, dump_json, json_object
from dataverse.batch import (
    BatchItem,
    BatchRequest,
    BatchResult,
    check_etag,
    chunk_items,
    count_operations,
    decode_batch,
    encode_batch,
    entity_id_from,
    flatten,
    match_results,
    not_run,
)
from dataverse.concurrent import both, every
from dataverse.errors import DataverseError, InvalidInput, UnexpectedResponse
from dataverse.models import (
    ALERTS_OF_MAILBOX,
    LOOKUP_LOGICAL_NAME,
    Alert,
    AlertLevel,
    DataverseRow,
    DataverseVersion,
    EmailApproval,
    HeldPrivilege,
    Mailbox,
    MailboxChanges,
    OrgEmailSettings,
    Queue,
    Role,
    ServerProfile,
    SystemUser,
    Team,
    TeamRoles,
    UserRoles,
    WhoAmI,
)
from dataverse.odata import (
    Expand,
    Predicate,
    Query,
    any_of,
    asc,
    col,
    desc,
    encode_params,
    identifier,
    key_segment,
    parse_guid,
)

logger = logging.getLogger(__name__)

R = TypeVar("R", bound=DataverseRow)
M = TypeVar("M", bound=BaseModel)

API_PATH: Final = "api/data/v9.2/"
MAX_PAGE_SIZE: Final = 5000  # Dataverse's default and maximum (§6.6)
# reference/dataverse.md §0: on every request. `If-None-Match: null` stops cached answers.
STANDARD_HEADERS: Final[Mapping[str, str]] = {
    "Accept": "application/json",
    "OData-MaxVersion": "4.0",
    "OData-Version": "4.0",
    "If-None-Match": "null",
}


@dataclass(frozen=True)
class Page(Generic[R]):
    """One page of a collection query."""

    rows: tuple[R, ...]
    next_link: str | None
    count: int | None = None
    # True when the real count is above the 5000 that `@odata.count` can report (§6.6).
    count_limit_exceeded: bool = False


def _prefer(*preferences: str) -> dict[str, str]:
    wanted = [p for p in preferences if p]
    return {"Prefer": ",".join(wanted)} if wanted else {}


def _annotations(model: type[DataverseRow]) -> str:
    # Only Mailbox needs one today: which table its polymorphic regarding lookup points to.
    if model is Mailbox or issubclass(model, Mailbox):
        return f'odata.include-annotations="{LOOKUP_LOGICAL_NAME}"'
    return ""


def _is_batch_answer(response: httpx.Response) -> bool:
    # Without continue-on-error Dataverse answers a batch with the status of its first
    # failing operation, and still a multipart body holding that operation's answer (S16).
    content_type = response.headers.get("Content-Type", "")
    return response.status_code < 500 and content_type.lower().startswith("multipart/mixed")


def _validate(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        msg = f"a {model.__name__} answer from Dataverse does not fit the model"
        raise UnexpectedResponse(msg) from exc


class DataverseClient:
    """Async client for one Dataverse environment's Web API (v9.2).

    Args:
        environment_url: `https://<org>.crm.dynamics.com` (the Web API lives under it).
        auth: an `httpx.Auth`, normally `EntraApp.dataverse_auth(environment_url)`.
        ca_path: a PEM file holding the only CA to trust; None trusts the system store.
            Verification is never turned off.
        transport: an httpx transport to use instead of the network (tests).
        timeout: seconds for each request.
        max_concurrency: requests in flight at once; Dataverse refuses a user's 52nd.
        retry: the retry and throttling policy.
        page_size: `Prefer: odata.maxpagesize` for collection queries.
        trust_env: let httpx read proxy settings from the environment.
        sleep: how the client waits before a retry; `asyncio.sleep` unless a test records
            the waits instead of spending them.

    Use it as an async context manager, or call `aclose()`. `acting_for(object_id)`
    returns a view that sends `CallerObjectId` on every request and shares the connection.
    """

    def __init__(
        self,
        environment_url: str,
        *,
        auth: httpx.Auth | None = None,
        ca_path: str | Path | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
        max_concurrency: int = 8,
        retry: RetryPolicy | None = None,
        page_size: int = 500,
        trust_env: bool = False,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            msg = f"page_size must be between 1 and {MAX_PAGE_SIZE}"
            raise InvalidInput(msg)
        self.environment_url = environment_url.rstrip("/")
        self.page_size = page_size
        self._engine = HttpEngine(
            service="dataverse",
            base_url=f"{self.environment_url}/{API_PATH}",
            default_headers=STANDARD_HEADERS,
            auth=auth,
            ca_path=ca_path,
            transport=transport,
            timeout=timeout,
            max_concurrency=max_concurrency,
            retry=retry or RetryPolicy(),
            trust_env=trust_env,
            sleep=sleep,
        )
        self._caller: uuid.UUID | None = None
        self._owner = True

    # ---- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> DataverseClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (a view from `acting_for` leaves it to its owner)."""
        if self._owner:
            await self._engine.aclose()

    def acting_for(self, object_id: str | uuid.UUID) -> DataverseClient:
        """A view of this client whose requests run as the Entra user `object_id`.

        Dataverse applies the intersection of the app's and that user's privileges (§6.7).
        """
        view = copy.copy(self)
        view._caller = parse_guid(object_id)
        view._owner = False
        return view

    @property
    def api_root(self) -> str:
        return str(self._engine.base_url)

    # ---- the request primitive ---------------------------------------------------------

    async def _send(
        self,
        method: str,
        url: str,
        *,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        as_caller: str | uuid.UUID | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        request_headers = dict(headers or {})
        caller = parse_guid(as_caller) if as_caller is not None else self._caller
        if caller is not None:
            request_headers["CallerObjectId"] = str(caller)
        content = None
        if body is not None:
            content = dump_json(body)
            request_headers["Content-Type"] = "application/json; charset=utf-8"
        return await self._engine.send(
            method, url, headers=request_headers, content=content, idempotent=idempotent
        )

    # ---- generic primitives ------------------------------------------------------------

    async def get_row(
        self,
        model: type[R],
        row_id: str | uuid.UUID,
        *,
        select: Sequence[str] | None = None,
        expand: Sequence[Expand] = (),
        as_caller: str | uuid.UUID | None = None,
    ) -> R:
        """One row by primary key. Raises NotFound when there is none."""
        path = key_segment(model.entity_set, parse_guid(row_id))
        query = Query(
            select=tuple(select) if select is not None else model.columns(), expand=tuple(expand)
        )
        response = await self._send(
            "GET",
            f"{path}?{encode_params(query.params())}",
            headers=_prefer(_annotations(model)),
            as_caller=as_caller,
        )
        return _validate(model, json_object(response, "dataverse"))

    async def query_page(
        self,
        model: type[R],
        query: Query | None = None,
        *,
        path: str | None = None,
        next_link: str | None = None,
        page_size: int | None = None,
        as_caller: str | uuid.UUID | None = None,
    ) -> Page[R]:
        """One page of rows. Pass the previous page's `next_link` to get the next one.

        `path` overrides the collection (e.g. `systemusers(<id>)/teammembership_association`).
        The same `Prefer: odata.maxpagesize` goes on every page (§6.6); it is left out when
        `$top` is given, because Dataverse ignores `$top` next to it.
        """
        query = query or Query()
        if not query.select:
            query = query.with_select(*model.columns())
        size = self.page_size if page_size is None else page_size
        if not 1 <= size <= MAX_PAGE_SIZE:
            msg = f"page_size must be between 1 and {MAX_PAGE_SIZE}"
            raise InvalidInput(msg)
        preferences = [_annotations(model)]
        if query.top is None:
            preferences.append(f"odata.maxpagesize={size}")
        if next_link is not None:
            url = next_link  # used as given: the link must not be changed (§6.6)
        else:
            collection = path if path is not None else identifier(model.entity_set)
            url = f"{collection}?{encode_params(query.params())}"
        response = await self._send("GET", url, headers=_prefer(*preferences), as_caller=as_caller)
        data = json_object(response, "dataverse")
        values = data.get("value")
        if not isinstance(values, list):
            msg = "a collection answer without a `value` list"
            raise UnexpectedResponse(msg)
        link = data.get("@odata.nextLink")
        count = data.get("@odata.count")
        return Page(
            rows=tuple(_validate(model, v) for v in values),
            next_link=link if isinstance(link, str) and link else None,
            count=count if isinstance(count, int) else None,
            count_limit_exceeded=bool(
                data.get("@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded", False)
            ),
        )

    async def iter_rows(
        self,
        model: type[R],
        query: Query | None = None,
        *,
        path: str | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        as_caller: str | uuid.UUID | None = None,
    ) -> AsyncIterator[R]:
        """Every matching row, page after page, following `@odata.nextLink`."""
        yielded = 0
        page = await self.query_page(
            model, query, path=path, page_size=page_size, as_caller=as_caller
        )
        while True:
            for row in page.rows:
                if limit is not None and yielded >= limit:
                    return
                yield row
                yielded += 1
            if page.next_link is None:
                return
            page = await self.query_page(
                model, query, next_link=page.next_link, page_size=page_size, as_caller=as_caller
            )

    async def list_rows(
        self,
        model: type[R],
        query: Query | None = None,
        *,
        path: str | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        as_caller: str | uuid.UUID | None = None,
    ) -> list[R]:
        """`iter_rows` collected into a list."""
        return [
            row
            async for row in self.iter_rows(
                model, query, path=path, page_size=page_size, limit=limit, as_caller=as_caller
            )
        ]

    async def update_row(
        self,
        model: type[R],
        row_id: str | uuid.UUID,
        changes: Mapping[str, Any],
        *,
        etag: str = "*",
        idempotent: bool | None = None,
        as_caller: str | uuid.UUID | None = None,
    ) -> None:
        """PATCH a row. Always conditional: `If-Match: *` (the default) turns the upsert
        a PATCH would be into "404 if missing"; a row's ETag turns it into "412 if changed".

        Retried after a 5xx or timeout only with a specific ETag, or `idempotent=True`.
        """
        if not changes:
            msg = "nothing to update"
            raise InvalidInput(msg)
        path = key_segment(model.entity_set, parse_guid(row_id))
        await self._send(
            "PATCH",
            path,
            body=changes,
            headers={"If-Match": check_etag(etag)},
            idempotent=idempotent,
            as_caller=as_caller,
        )

    async def update_row_returning(
        self,
        model: type[R],
        row_id: str | uuid.UUID,
        changes: Mapping[str, Any],
        *,
        etag: str = "*",
        idempotent: bool | None = None,
        as_caller: str | uuid.UUID | None = None,
    ) -> R:
        """`update_row` with `Prefer: return=representation`: the row as it is afterwards."""
        if not changes:
            msg = "nothing to update"
            raise InvalidInput(msg)
        path = key_segment(model.entity_set, parse_guid(row_id))
        query = Query(select=model.columns())
        response = await self._send(
            "PATCH",
            f"{path}?{encode_params(query.params())}",
            body=changes,
            headers={
                "If-Match": check_etag(etag),
                **_prefer("return=representation", _annotations(model)),
            },
            idempotent=idempotent,
            as_caller=as_caller,
        )
        return _validate(model, json_object(response, "dataverse"))

    async def create_row(
        self,
        model: type[R],
        values: Mapping[str, Any],
        *,
        as_caller: str | uuid.UUID | None = None,
    ) -> uuid.UUID:
        """POST a new row and return its id. Never retried after a 5xx or timeout."""
        response = await self._send(
            "POST", identifier(model.entity_set), body=values, as_caller=as_caller
        )
        created = entity_id_from(response.headers.get("OData-EntityId", ""))
        if created is None:
            msg = "Dataverse created a row but did not say its id"
            raise UnexpectedResponse(msg)
        return created

    async def delete_row(
        self,
        model: type[R],
        row_id: str | uuid.UUID,
        *,
        etag: str = "*",
        as_caller: str | uuid.UUID | None = None,
    ) -> None:
        """DELETE a row (with If-Match; a specific ETag makes it safe to retry)."""
        path = key_segment(model.entity_set, parse_guid(row_id))
        await self._send(
            "DELETE", path, headers={"If-Match": check_etag(etag)}, as_caller=as_caller
        )

    async def associate(
        self,
        model: type[R],
        row_id: str | uuid.UUID,
        relationship: str,
        target: type[DataverseRow],
        target_id: str | uuid.UUID,
        *,
        as_caller: str | uuid.UUID | None = None,
    ) -> None:
        """Link two rows through a collection-valued navigation property (`…/$ref`)."""
        path = key_segment(model.entity_set, parse_guid(row_id))
        reference = self.api_root + key_segment(target.entity_set, parse_guid(target_id))
        await self._send(
            "POST",
            f"{path}/{identifier(relationship)}/$ref",
            body={"@odata.id": reference},
            as_caller=as_caller,
        )

    async def disassociate(
        self,
        model: type[R],
        row_id: str | uuid.UUID,
        relationship: str,
        target_id: str | uuid.UUID,
        *,
        as_caller: str | uuid.UUID | None = None,
    ) -> None:
        """Remove the link made by `associate`."""
        path = key_segment(model.entity_set, parse_guid(row_id))
        await self._send(
            "DELETE",
            f"{path}/{identifier(relationship)}({parse_guid(target_id)})/$ref",
            as_caller=as_caller,
        )

    async def batch(
        self,
        items: Sequence[BatchItem],
        *,
        chunk_size: int = 100,
        max_parallel: int = 2,
        continue_on_error: bool = True,
        as_caller: str | uuid.UUID | None = None,
    ) -> list[BatchResult]:
        """Run operations through `$batch`, `chunk_size` operations per request.

        Returns one result per operation, in order (change sets flattened). A chunk that
        fails as a whole (throttled past the budget, a network failure) marks each of its
        operations not run, with the error, rather than losing the other chunks' results.
        A chunk is retried whole on 429; chunks holding only GETs also on 502/503/504.
        """
        if max_parallel < 1:
            msg = "max_parallel must be at least 1"
            raise InvalidInput(msg)
        chunks = chunk_items(items, chunk_size)
        gate = asyncio.Semaphore(max_parallel)

        async def run(chunk: list[BatchItem]) -> list[BatchResult]:
            async with gate:
                try:
                    return await self._run_batch(chunk, continue_on_error, as_caller)
                except DataverseError as exc:
                    logger.warning(
                        "a $batch chunk of %d operations failed: %s", count_operations(chunk), exc
                    )
                    return [not_run(r, exc) for r in flatten(chunk)]

        tasks = [asyncio.ensure_future(run(chunk)) for chunk in chunks]
        try:
            per_chunk = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return [result for chunk_results in per_chunk for result in chunk_results]

    async def _run_batch(
        self,
        chunk: list[BatchItem],
        continue_on_error: bool,
        as_caller: str | uuid.UUID | None,
    ) -> list[BatchResult]:
        content_type, body = encode_batch(chunk, self.api_root)
        headers = {"Content-Type": content_type}
        if continue_on_error:
            headers["Prefer"] = "odata.continue-on-error"
        caller = parse_guid(as_caller) if as_caller is not None else self._caller
        if caller is not None:
            headers["CallerObjectId"] = str(caller)
        reads_only = all(isinstance(i, BatchRequest) and i.method.upper() == "GET" for i in chunk)
        response = await self._engine.send(
            "POST",
            "$batch",
            headers=headers,
            content=body,
            idempotent=reads_only,
            keep_error=_is_batch_answer,
        )
        groups = decode_batch(response.headers.get("Content-Type", ""), response.content)
        return match_results(chunk, groups)

    # ---- functions ---------------------------------------------------------------------

    async def whoami(self, *, as_caller: str | uuid.UUID | None = None) -> WhoAmI:
        """Who requests run as: the app user, or the impersonated user (§6.8)."""
        response = await self._send("GET", "WhoAmI", as_caller=as_caller)
        return _validate(WhoAmI, json_object(response, "dataverse"))

    async def retrieve_version(self) -> DataverseVersion:
        """The environment's version, e.g. 9.2.22104.00170 (§3, §4.4)."""
        response = await self._send("GET", "RetrieveVersion")
        version = json_object(response, "dataverse").get("Version")
        if not isinstance(version, str):
            msg = "RetrieveVersion answered without a Version"
            raise UnexpectedResponse(msg)
        try:
            return DataverseVersion.parse(version)
        except InvalidInput as exc:
            raise UnexpectedResponse(str(exc)) from exc

    # ---- mailboxes ---------------------------------------------------------------------

    async def get_mailbox(self, mailbox_id: str | uuid.UUID) -> Mailbox:
        return await self.get_row(Mailbox, mailbox_id)

    async def mailboxes_with_alerts(
        self, query: Query, *, alerts: int, limit: int
    ) -> list[tuple[Mailbox, tuple[Alert, ...]]]:
        """Up to `limit` mailboxes matching `query`, each with its latest `alerts` alerts,
        newest first, in one request: the alerts come expanded through the mailbox's
        `tracelog_Mailbox` collection (§5.3) instead of a second, sequential query.
        (Microsoft warns that an expanded collection may come from a cache unless the
        request says `If-None-Match: null`, which every request here does.)"""
        alerts_expanded = Expand(
            ALERTS_OF_MAILBOX,
            select=Alert.columns(),
            orderby=(desc("modifiedon"),),
            top=alerts,
        )
        query = replace(
            query,
            select=query.select or Mailbox.columns(),
            expand=(*query.expand, alerts_expanded),
            top=limit,
        )
        response = await self._send(
            "GET",
            f"{identifier(Mailbox.entity_set)}?{encode_params(query.params())}",
            headers=_prefer(_annotations(Mailbox)),
        )
        values = json_object(response, "dataverse").get("value")
        if not isinstance(values, list):
            msg = "a collection answer without a `value` list"
            raise UnexpectedResponse(msg)
        found = []
        for value in values:
            expanded = value.get(ALERTS_OF_MAILBOX) if isinstance(value, dict) else None
            if not isinstance(expanded, list):
                msg = f"a mailbox without its expanded {ALERTS_OF_MAILBOX}"
                raise UnexpectedResponse(msg)
            found.append((_validate(Mailbox, value), tuple(_validate(Alert, a) for a in expanded)))
        return found

    async def mailbox_for(self, owner_id: str | uuid.UUID) -> Mailbox | None:
        """The mailbox whose regarding user or queue is `owner_id`, if any."""
        query = Query(filter=col("_regardingobjectid_value").eq(parse_guid(owner_id)), top=1)
        rows = await self.list_rows(Mailbox, query)
        return rows[0] if rows else None

    async def find_mailboxes(
        self,
        *,
        email: str | None = None,
        name_prefix: str | None = None,
        limit: int = 25,
    ) -> list[Mailbox]:
        """Active mailboxes by exact address and/or name prefix (for disambiguation)."""
        terms: list[Predicate] = []
        if email is not None:
            terms.append(col("emailaddress").eq(email))
        if name_prefix is not None:
            terms.append(col("name").startswith(name_prefix))
        if not terms:
            msg = "give an email address or a name prefix"
            raise InvalidInput(msg)
        query = Query(filter=any_of(terms) & col("statecode").eq(0), orderby=(desc("modifiedon"),))
        return await self.list_rows(Mailbox, query, limit=limit)

    def iter_mailboxes(
        self, where: Predicate | None = None, *, page_size: int | None = None
    ) -> AsyncIterator[Mailbox]:
        """Every mailbox matching `where` (all of them when None), paged."""
        return self.iter_rows(Mailbox, Query(filter=where), page_size=page_size)

    async def update_mailbox(
        self, mailbox_id: str | uuid.UUID, changes: MailboxChanges, *, etag: str = "*"
    ) -> None:
        """Write mailbox columns; never creates a mailbox (If-Match, §6.4)."""
        await self.update_row(Mailbox, mailbox_id, changes.to_body(), etag=etag)

    async def schedule_test_and_enable(
        self, mailbox_id: str | uuid.UUID, *, etag: str = "*"
    ) -> None:
        """Queue Test & Enable by setting `testemailconfigurationscheduled` (§5.1)."""
        await self.update_mailbox(mailbox_id, MailboxChanges(test_scheduled=True), etag=etag)

    async def set_email_approval(
        self,
        model: type[Mailbox] | type[SystemUser] | type[Queue],
        row_id: str | uuid.UUID,
        approval: EmailApproval,
        *,
        etag: str = "*",
    ) -> None:
        """Write `emailrouteraccessapproval` on a mailbox, user or queue row (§4.2)."""
        await self.update_row(
            model, row_id, {"emailrouteraccessapproval": int(approval)}, etag=etag
        )

    async def alerts(
        self,
        regarding_id: str | uuid.UUID,
        *,
        limit: int = 20,
        min_level: AlertLevel | None = None,
    ) -> list[Alert]:
        """The latest alerts about a mailbox (or server profile), newest first (§5.3)."""
        where = col("_regardingobjectid_value").eq(parse_guid(regarding_id))
        if min_level is not None:
            where = where & col("level").ge(int(min_level))
        query = Query(filter=where, orderby=(desc("modifiedon"),), top=limit)
        return await self.list_rows(Alert, query)

    # ---- people and queues -------------------------------------------------------------

    async def get_person(self, systemuser_id: str | uuid.UUID) -> SystemUser:
        return await self.get_row(SystemUser, systemuser_id)

    async def person_by_object_id(self, object_id: str | uuid.UUID) -> SystemUser | None:
        """The Dataverse user of an Entra object id (the Teams caller), if any (§8)."""
        query = Query(filter=col("azureactivedirectoryobjectid").eq(parse_guid(object_id)), top=1)
        rows = await self.list_rows(SystemUser, query)
        return rows[0] if rows else None

    async def find_people(self, text: str, *, limit: int = 10) -> list[SystemUser]:
        """Users whose name starts with `text`, or whose UPN or email is `text`."""
        if not text.strip():
            msg = "a name or address to look for is required"
            raise InvalidInput(msg)
        text = text.strip()
        query = Query(
            filter=any_of(
                [
                    col("fullname").startswith(text),
                    col("domainname").eq(text),
                    col("internalemailaddress").eq(text),
                ]
            ),
            orderby=(asc("fullname"),),
        )
        return await self.list_rows(SystemUser, query, limit=limit)

    async def get_queue(self, queue_id: str | uuid.UUID) -> Queue:
        return await self.get_row(Queue, queue_id)

    async def find_queues(self, text: str, *, limit: int = 10) -> list[Queue]:
        """Queues whose name starts with `text` or whose address is `text`."""
        if not text.strip():
            msg = "a queue name or address to look for is required"
            raise InvalidInput(msg)
        text = text.strip()
        query = Query(
            filter=col("name").startswith(text) | col("emailaddress").eq(text),
        )
        return await self.list_rows(Queue, query, limit=limit)

    # ---- server profiles and organization settings -------------------------------------

    async def get_server_profile(self, profile_id: str | uuid.UUID) -> ServerProfile:
        return await self.get_row(ServerProfile, profile_id)

    async def server_profiles(self, *, active_only: bool = True) -> list[ServerProfile]:
        query = Query(filter=col("statecode").eq(0) if active_only else None)
        return await self.list_rows(ServerProfile, query)

    async def org_email_settings(self) -> OrgEmailSettings:
        """The organization's email settings; there is exactly one organization row (§3)."""
        rows = await self.list_rows(OrgEmailSettings, Query(top=1))
        if not rows:
            msg = "Dataverse returned no organization row"
            raise UnexpectedResponse(msg)
        return rows[0]

    # ---- security roles ----------------------------------------------------------------

    async def teams_of(self, systemuser_id: str | uuid.UUID) -> list[Team]:
        path = (
            f"{key_segment('systemusers', parse_guid(systemuser_id))}/teammembership_association"
        )
        return await self.list_rows(Team, path=path)

    async def roles_of_team(self, team_id: str | uuid.UUID) -> list[Role]:
        path = f"{key_segment('teams', parse_guid(team_id))}/teamroles_association"
        return await self.list_rows(Role, path=path)

    async def security_roles(self, systemuser_id: str | uuid.UUID) -> UserRoles:
        """A user's roles, held directly and through team membership (§8)."""
        user = parse_guid(systemuser_id)
        direct_path = f"{key_segment('systemusers', user)}/systemuserroles_association"
        direct, teams = await both(self.list_rows(Role, path=direct_path), self.teams_of(user))
        team_roles = await every(self.roles_of_team(t.id) for t in teams)
        return UserRoles(
            direct=tuple(direct),
            through_teams=tuple(
                TeamRoles(team=t, roles=tuple(r)) for t, r in zip(teams, team_roles, strict=True)
            ),
        )

    async def user_privileges(self, systemuser_id: str | uuid.UUID) -> list[HeldPrivilege]:
        """Privileges a user holds through their roles and their teams' roles.

        The bound function `RetrieveUserPrivileges` answers with every `RolePrivilege`
        (name and depth), which is what decides "may this person write that mailbox".
        """
        path = (
            f"{key_segment('systemusers', parse_guid(systemuser_id))}"
            "/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()"
        )
        response = await self._send("GET", path)
        entries = json_object(response, "dataverse").get("RolePrivileges")
        if not isinstance(entries, list):
            msg = "RetrieveUserPrivileges answered without RolePrivileges"
            raise UnexpectedResponse(msg)
        return [_validate(HeldPrivilege, entry) for entry in entries]

    async def roles_named(self, name: str) -> list[Role]:
        """Roles with this exact name, one per business unit (e.g. Delegated Mailbox Approver)."""
        return await self.list_rows(Role, Query(filter=col("name").eq(name)))
