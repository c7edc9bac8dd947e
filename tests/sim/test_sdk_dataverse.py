"""Microsoft's Python SDK for Dataverse (PowerPlatform-Dataverse-Client), unchanged, against
the sim: every kind of call the bot makes (dataverse/client.py, dataverse/ops/*).

The SDK resolves a table through `EntityDefinitions` (query-metadata-web-api) before it reads
or writes anything, and reads choice labels from the table's PicklistAttributeMetadata before
a write with a string value (its `data/_odata.py`). It authenticates with an azure-core
TokenCredential: here one that gets a real token from the sim's Entra face with client
credentials (reference §6.9), through the bot's own EntraApp. It talks over `requests`, which
trusts the sim's CA through REQUESTS_CA_BUNDLE (verification stays on).

The sim runs in its own thread, so the SDK's synchronous calls run straight in the test.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from azure.core.credentials import AccessToken, TokenCredential
from PowerPlatform.Dataverse.client import DataverseClient
from PowerPlatform.Dataverse.core.config import DataverseConfig
from PowerPlatform.Dataverse.core.errors import HttpError, MetadataError

from dataverse import EntraApp
from sim.webapi.tables import MAILBOX
from tests.sim.webapi_kit import (
    MAILBOX_ALICE,
    MAILBOX_GINA,
    PROFILE_EXO,
    USER_GINA,
    dv,
    error_of,
    user_token,
)
from tests.simharness import RunningSim

ENTITY_DEFINITIONS = "/api/data/v9.2/EntityDefinitions"


class EntraCredential(TokenCredential):
    """An azure-core TokenCredential over the sim's Entra face: client credentials."""

    def __init__(self, app: EntraApp) -> None:
        self.app = app
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        token = asyncio.run(self.app.acquire_for_client(scopes))
        return AccessToken(token.value, int(token.expires_at))


class FixedToken(TokenCredential):
    """A credential holding one token the sim's Entra face minted (a delegated user's)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, 2**31 - 1)


@pytest.fixture
def trust_sim(sim: RunningSim, monkeypatch: pytest.MonkeyPatch) -> None:
    """`requests` verifies the sim's certificate against the sim's CA, and only that."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sim.ca_path))


@pytest.fixture
def credential(entra: EntraApp) -> EntraCredential:
    return EntraCredential(entra)


@pytest.fixture
def sdk(
    sim: RunningSim, trust_sim: None, credential: EntraCredential
) -> Iterator[DataverseClient]:
    with DataverseClient(sim.dataverse_url, credential) as client:
        yield client


def _metadata_calls(sim: RunningSim) -> list[dict[str, Any]]:
    return [r for r in sim.requests() if r["path"].startswith(ENTITY_DEFINITIONS)]


def _mailbox_ids(sim: RunningSim, filter_text: str) -> set[str]:
    """The ids the Web API itself lists for `filter_text`, in one page."""
    with dv(sim) as client:
        resp = client.get(
            "mailboxes",
            params={"$filter": filter_text, "$select": "mailboxid"},
            headers={"Prefer": "odata.maxpagesize=5000"},
        )
    assert resp.status_code == 200, resp.text
    return {row["mailboxid"] for row in resp.json()["value"]}


def test_sdk_resolves_the_table_through_entity_definitions_first(
    sim: RunningSim, sdk: DataverseClient, credential: EntraCredential
) -> None:
    """query-metadata-web-api: the SDK's first call for a table is `EntityDefinitions` with
    `$filter=LogicalName eq 'mailbox'` and `$select=LogicalName,EntitySetName,
    PrimaryIdAttribute`; the sim answers from tables.py (mailboxes, mailboxid). The token is
    asked for `<environment URL>/.default` (reference §6.9)."""
    record = sdk.records.retrieve("mailbox", MAILBOX_GINA, select=["name"])
    assert record is not None
    assert record.id == MAILBOX_GINA
    assert record["name"] == "Gina Global"
    calls = [r for r in sim.requests() if r["path"].startswith("/api/data/")]
    assert calls[0]["path"] == ENTITY_DEFINITIONS
    assert parse_qs(calls[0]["query"]) == {
        "$select": ["LogicalName,EntitySetName,PrimaryIdAttribute"],
        "$filter": ["LogicalName eq 'mailbox'"],
    }
    assert calls[0]["status"] == 200
    assert calls[1]["path"] == f"/api/data/v9.2/mailboxes({MAILBOX_GINA})"
    assert credential.scopes[0] == (f"{sim.dataverse_url}/.default",)

    info = sdk.tables.get("mailbox")
    assert info is not None
    assert info["entity_set_name"] == "mailboxes"
    assert info["primary_id_attribute"] == "mailboxid"
    assert info["primary_name_attribute"] == MAILBOX.primary_name
    assert info["schema_name"] == "Mailbox"


def test_list_with_filter_follows_next_link(sim: RunningSim, sdk: DataverseClient) -> None:
    """page-results (reference §6.6): `Prefer: odata.maxpagesize` pages the list and the SDK
    follows `@odata.nextLink` to the end; the pages hold exactly what the filter selects,
    each row once."""
    expected = _mailbox_ids(sim, "statecode eq 0")
    pages = list(
        sdk.records.list_pages(
            "mailbox", filter="statecode eq 0", select=["name", "statecode"], page_size=100
        )
    )
    assert len(pages) == -(-len(expected) // 100) > 1
    ids = [record.id or record["mailboxid"] for page in pages for record in page]
    assert len(ids) == len(set(ids))
    assert set(ids) == expected
    assert all(record["statecode"] == 0 for page in pages for record in page)
    followed = [
        r
        for r in sim.requests()
        if r["path"] == "/api/data/v9.2/mailboxes" and "skiptoken" in r["query"]
    ]
    assert len(followed) == len(pages) - 1


def test_list_by_regarding_user(sdk: DataverseClient) -> None:
    """reference §9: a user's mailbox by `_regardingobjectid_value eq <systemuserid>`."""
    found = sdk.records.list(
        "mailbox",
        filter=f"_regardingobjectid_value eq {USER_GINA}",
        select=["mailboxid", "emailaddress", "emailrouteraccessapproval"],
    )
    assert [(r["mailboxid"], r["emailaddress"]) for r in found] == [
        (MAILBOX_GINA, "gina@contoso.com")
    ]


def test_retrieve_by_id_with_formatted_values(sdk: DataverseClient) -> None:
    """reference §9: one mailbox with `Prefer: odata.include-annotations` for its labels."""
    record = sdk.records.retrieve(
        "mailbox",
        MAILBOX_GINA,
        select=["name", "incomingemaildeliverymethod", "_emailserverprofile_value"],
        include_annotations="OData.Community.Display.V1.FormattedValue",
    )
    assert record is not None
    method = record["incomingemaildeliverymethod"]
    label = record["incomingemaildeliverymethod@OData.Community.Display.V1.FormattedValue"]
    assert label == MAILBOX.by_logical["incomingemaildeliverymethod"].options[method]
    assert record["_emailserverprofile_value"] == PROFILE_EXO


def test_update_is_a_patch_that_does_not_create(sim: RunningSim, sdk: DataverseClient) -> None:
    """reference §9 "Configure for server-side sync": PATCH with `If-Match: *` (the SDK sends
    it), a lookup bound with `@odata.bind`; the values read back. A missing id is 404 with
    the error body (ObjectDoesNotExist), not an upsert."""
    changes = {
        "emailserverprofile@odata.bind": f"/emailserverprofiles({PROFILE_EXO})",
        "incomingemaildeliverymethod": 2,
        "outgoingemaildeliverymethod": 2,
        "orgmarkedasprimaryforexchangesync": True,
    }
    sdk.records.update("mailbox", MAILBOX_ALICE, changes)
    patches = [r for r in sim.requests() if r["method"] == "PATCH"]
    assert [p["path"] for p in patches] == [f"/api/data/v9.2/mailboxes({MAILBOX_ALICE})"]
    assert patches[0]["status"] == 204
    record = sdk.records.retrieve("mailbox", MAILBOX_ALICE)
    assert record is not None
    assert record["incomingemaildeliverymethod"] == 2
    assert record["outgoingemaildeliverymethod"] == 2
    assert record["orgmarkedasprimaryforexchangesync"] is True
    assert record["_emailserverprofile_value"] == PROFILE_EXO

    missing = str(uuid.uuid4())
    with pytest.raises(HttpError) as caught:
        sdk.records.update("mailbox", missing, {"incomingemaildeliverymethod": 2})
    assert caught.value.status_code == 404
    assert caught.value.details["service_error_code"] == "0x80040217"
    assert caught.value.message == f"mailbox With Id = {missing} Does Not Exist"
    assert sdk.records.retrieve("mailbox", missing) is None  # the SDK's answer to a 404


def test_update_with_a_choice_label_reads_the_option_set(
    sim: RunningSim, sdk: DataverseClient
) -> None:
    """query-metadata-web-api ("Retrieving attributes", OptionSet Options with their Label):
    given a label, the SDK reads the table's PicklistAttributeMetadata and writes the value
    whose English label it is."""
    options = MAILBOX.by_logical["actdeliverymethod"].options
    before = sdk.records.retrieve("mailbox", MAILBOX_ALICE, select=["actdeliverymethod"])
    assert before is not None
    value = next(v for v in options if v != before["actdeliverymethod"])
    sdk.records.update("mailbox", MAILBOX_ALICE, {"actdeliverymethod": options[value]})
    picklists = [r for r in _metadata_calls(sim) if "PicklistAttributeMetadata" in r["path"]]
    assert [r["status"] for r in picklists] == [200]
    record = sdk.records.retrieve("mailbox", MAILBOX_ALICE, select=["actdeliverymethod"])
    assert record is not None
    assert record["actdeliverymethod"] == value


def test_batch_with_change_set_and_continue_on_error(
    sim: RunningSim, sdk: DataverseClient
) -> None:
    """execute-batch-operations (reference §6.5), the bot's bulk path (dataverse/ops/_bulk.py):
    a `$batch` with a change set of updates and, with `Prefer: odata.continue-on-error`, a
    failing operation that does not stop the ones after it; each answer keeps its status and
    error body."""
    missing = str(uuid.uuid4())
    batch = sdk.batch.new()
    with batch.changeset() as change_set:
        change_set.records.update("mailbox", MAILBOX_ALICE, {"incomingemaildeliverymethod": 2})
        change_set.records.update("mailbox", MAILBOX_GINA, {"outgoingemaildeliverymethod": 2})
    batch.records.update("mailbox", missing, {"incomingemaildeliverymethod": 2})
    batch.records.retrieve("mailbox", MAILBOX_ALICE, select=["incomingemaildeliverymethod"])
    result = batch.execute(continue_on_error=True)
    assert [r.status_code for r in result.responses] == [204, 204, 404, 200]
    assert result.responses[0].entity_id == MAILBOX_ALICE
    failed = result.responses[2]
    assert (failed.error_code, failed.error_message) == (
        "0x80040217",
        f"mailbox With Id = {missing} Does Not Exist",
    )
    read = result.responses[3].data
    assert read is not None and read["incomingemaildeliverymethod"] == 2
    posts = [r for r in sim.requests() if r["path"] == "/api/data/v9.2/$batch"]
    assert [p["status"] for p in posts] == [200]


def test_bad_filter_is_400_with_the_error_body(sim: RunningSim, sdk: DataverseClient) -> None:
    """compose-http-requests-handle-errors (reference §6.1): the SDK surfaces the body's code
    and message; they are what the Web API answers the same query."""
    with dv(sim) as client:
        raw = error_of(client.get("mailboxes", params={"$filter": "nosuchcolumn eq 1"}))
    with pytest.raises(HttpError) as caught:
        sdk.records.list("mailbox", filter="nosuchcolumn eq 1")
    assert caught.value.status_code == 400
    assert caught.value.details["service_error_code"] == raw["code"]
    assert caught.value.message == raw["message"]


def test_someone_elses_mailbox_is_403(sim: RunningSim, trust_sim: None) -> None:
    """reference §6.1 / §8: a Basic User reads mailboxes at user depth, so another user's
    mailbox is 403 with the error body. Table definitions need no privilege: the SDK still
    resolves the table first."""
    token = user_token(sim, "alice")
    with dv(sim, token) as client:
        raw = error_of(client.get(f"mailboxes({MAILBOX_GINA})"))
    with DataverseClient(sim.dataverse_url, FixedToken(token)) as sdk:
        own = sdk.records.retrieve("mailbox", MAILBOX_ALICE, select=["name"])
        assert own is not None
        with pytest.raises(HttpError) as caught:
            sdk.records.retrieve("mailbox", MAILBOX_GINA, select=["name"])
    assert caught.value.status_code == 403
    assert caught.value.details["service_error_code"] == raw["code"]
    assert caught.value.message == raw["message"]


def test_unknown_table_is_a_metadata_error(sim: RunningSim, sdk: DataverseClient) -> None:
    """query-metadata-web-api: a `$filter` that matches no definition is an empty `value`
    (200, no paging), which the SDK reports as an unresolved table without reading data."""
    with pytest.raises(MetadataError):
        sdk.records.list("mailboxs")
    calls = [r for r in sim.requests() if r["path"].startswith("/api/data/")]
    assert [(c["path"], c["status"]) for c in calls] == [(ENTITY_DEFINITIONS, 200)]


def test_wrong_certificate_authority_is_refused(
    sim: RunningSim, credential: EntraCredential, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TLS stays verified: without the sim's CA the SDK cannot connect."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    # One attempt: the SDK retries transport errors with real sleeps otherwise.
    config = DataverseConfig(http_retries=1)
    with (
        DataverseClient(sim.dataverse_url, credential, config) as sdk,
        pytest.raises(requests.exceptions.SSLError),
    ):
        sdk.records.retrieve("mailbox", MAILBOX_GINA)
