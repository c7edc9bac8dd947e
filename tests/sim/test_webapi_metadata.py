"""Table definitions under `EntityDefinitions`, as Microsoft's "Query table definitions using
the Web API" documents them (powerapps-docs `developer/data-platform/webapi/
query-metadata-web-api.md`), derived from the sim's own tables (sim/webapi/tables.py)."""

from __future__ import annotations

from typing import Any

import pytest

from sim.webapi.tables import BY_LOGICAL_NAME, MAILBOX, Kind
from tests.sim.webapi_kit import dv, error_of, user_token
from tests.simharness import RunningSim

PICKLISTS = "EntityDefinitions(LogicalName='mailbox')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata"  # noqa: E501


def _get(sim: RunningSim, path: str, **params: str) -> Any:
    with dv(sim) as client:
        resp = client.get(path, params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_filter_by_logical_name_with_select(sim: RunningSim) -> None:
    """query-metadata-web-api: `$select` any EntityMetadata property, MetadataId is always
    returned, `$filter` on primitive properties, and no paging (no nextLink). This is the
    exact query Microsoft's Dataverse SDK sends to resolve a table."""
    body = _get(
        sim,
        "EntityDefinitions",
        **{
            "$select": "LogicalName,EntitySetName,PrimaryIdAttribute",
            "$filter": "LogicalName eq 'mailbox'",
        },
    )
    assert body["@odata.context"].endswith(
        "$metadata#EntityDefinitions(LogicalName,EntitySetName,PrimaryIdAttribute)"
    )
    assert "@odata.nextLink" not in body
    [row] = body["value"]
    assert set(row) == {"LogicalName", "EntitySetName", "PrimaryIdAttribute", "MetadataId"}
    assert (row["LogicalName"], row["EntitySetName"], row["PrimaryIdAttribute"]) == (
        "mailbox",
        "mailboxes",
        "mailboxid",
    )


def test_every_table_is_defined_from_its_own_definition(sim: RunningSim) -> None:
    """query-metadata-web-api ("There is no paging. All matching resources will be returned in
    the first response"): one definition per served table, from tables.py."""
    rows = _get(sim, "EntityDefinitions")["value"]
    assert {r["LogicalName"] for r in rows} == set(BY_LOGICAL_NAME)
    for row in rows:
        tbl = BY_LOGICAL_NAME[row["LogicalName"]]
        assert row["EntitySetName"] == tbl.entity_set
        assert row["PrimaryIdAttribute"] == tbl.primary_key
        assert row["PrimaryNameAttribute"] == tbl.primary_name
        assert row["IsCustomEntity"] is False
    assert len({r["MetadataId"] for r in rows}) == len(rows)


def test_a_definition_by_logical_name_or_metadata_id(sim: RunningSim) -> None:
    """query-metadata-web-api: `EntityDefinitions(LogicalName='account')?$select=…` and the
    same definition by its MetadataId."""
    by_name = _get(sim, "EntityDefinitions(LogicalName='mailbox')", **{"$select": "SchemaName"})
    assert by_name["@odata.context"].endswith("$metadata#EntityDefinitions(SchemaName)/$entity")
    assert by_name["SchemaName"] == "Mailbox"
    by_id = _get(sim, f"EntityDefinitions({by_name['MetadataId']})")
    assert by_id["LogicalName"] == "mailbox"
    assert by_id["MetadataId"] == by_name["MetadataId"]


def test_attributes_follow_the_columns(sim: RunningSim) -> None:
    """query-metadata-web-api ("Querying EntityMetadata attributes"): the common
    AttributeMetadata properties of every column, each with its derived `@odata.type`; the
    IsValidFor* flags are the columns' own."""
    rows = _get(sim, "EntityDefinitions(LogicalName='mailbox')/Attributes")["value"]
    by_name = {r["LogicalName"]: r for r in rows}
    assert set(by_name) == {c.name for c in MAILBOX.columns.values()}
    for col in MAILBOX.columns.values():
        row = by_name[col.name]
        flags = (row["IsValidForCreate"], row["IsValidForUpdate"], row["IsValidForRead"])
        assert flags == (col.create, col.update, col.read), col.name
    version = by_name["versionnumber"]
    assert version["AttributeType"] == "BigInt"
    assert version["@odata.type"] == "#Microsoft.Dynamics.CRM.BigIntAttributeMetadata"
    assert by_name["mailboxid"]["IsPrimaryId"] is True
    assert by_name["name"]["IsPrimaryName"] is True
    assert by_name["statecode"]["AttributeType"] == "State"
    assert by_name["statuscode"]["AttributeType"] == "Status"
    assert by_name["ownerid"]["AttributeType"] == "Owner"
    assert by_name["emailserverprofile"]["AttributeType"] == "Lookup"
    filtered = _get(
        sim,
        "EntityDefinitions(LogicalName='mailbox')/Attributes",
        **{"$select": "LogicalName", "$filter": "IsValidForUpdate eq false"},
    )["value"]
    assert {r["LogicalName"] for r in filtered} == {
        c.name for c in MAILBOX.columns.values() if not c.update
    }


def test_picklist_cast_expands_the_option_set(sim: RunningSim) -> None:
    """query-metadata-web-api: cast `Attributes` to PicklistAttributeMetadata to reach
    `OptionSet`; an option is `{"Value", "Label": {"LocalizedLabels": [{"Label",
    "LanguageCode"}]}}`. State and Status columns are other types, not in this cast. This is
    the query Microsoft's Dataverse SDK sends before a write with a label."""
    rows = _get(
        sim, PICKLISTS, **{"$select": "LogicalName", "$expand": "OptionSet($select=Options)"}
    )["value"]
    expected = {
        c.name: c.options
        for c in MAILBOX.columns.values()
        if c.kind is Kind.PICKLIST and c.name not in ("statecode", "statuscode")
    }
    assert {r["LogicalName"] for r in rows} == set(expected)
    for row in rows:
        assert "@odata.type" not in row  # the cast names the type
        options = row["OptionSet"]["Options"]
        labels = {
            o["Value"]: o["Label"]["LocalizedLabels"][0]["Label"]
            for o in options
            if o["Label"]["LocalizedLabels"][0]["LanguageCode"] == 1033
        }
        assert labels == expected[row["LogicalName"]]
        assert set(row["OptionSet"]) == {"Options", "MetadataId"}


def test_string_cast_has_max_length(sim: RunningSim) -> None:
    """query-metadata-web-api (casting to reach a derived type's properties, as
    MoneyAttributeMetadata's Precision): StringAttributeMetadata carries MaxLength, the
    base type does not."""
    cast = "EntityDefinitions(LogicalName='mailbox')/Attributes/Microsoft.Dynamics.CRM."
    rows = _get(
        sim,
        cast + "StringAttributeMetadata",
        **{"$select": "LogicalName,MaxLength", "$filter": "LogicalName eq 'emailaddress'"},
    )["value"]
    assert [(r["LogicalName"], r["MaxLength"]) for r in rows] == [
        ("emailaddress", MAILBOX.by_logical["emailaddress"].max_length)
    ]
    with dv(sim) as client:
        resp = client.get(
            "EntityDefinitions(LogicalName='mailbox')/Attributes", params={"$select": "MaxLength"}
        )
    assert resp.status_code == 400
    assert "MaxLength" in error_of(resp)["message"]


def test_one_attribute_by_logical_name(sim: RunningSim) -> None:
    """query-metadata-web-api ("Retrieving attributes"): by the LogicalName of both."""
    row = _get(
        sim,
        "EntityDefinitions(LogicalName='mailbox')/Attributes(LogicalName='emailaddress')",
        **{"$select": "AttributeType"},
    )
    assert row["AttributeType"] == "String"
    assert row["@odata.type"] == "#Microsoft.Dynamics.CRM.StringAttributeMetadata"


def test_a_filter_matching_nothing_is_an_empty_list(sim: RunningSim) -> None:
    """query-metadata-web-api: a `$filter` is a query, so no match is 200 with no rows."""
    body = _get(sim, "EntityDefinitions", **{"$filter": "LogicalName eq 'mailboxs'"})
    assert body["value"] == []


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("EntityDefinitions", {"$select": "NoSuchProperty"}, 400),
        ("EntityDefinitions", {"$filter": "NoSuchProperty eq 'x'"}, 400),
        ("EntityDefinitions", {"$top": "1"}, 400),  # no paging
        ("EntityDefinitions", {"$filter": "LogicalName eq"}, 400),
        ("EntityDefinitions(LogicalName='nosuchtable')", {}, 404),
        ("EntityDefinitions(LogicalName=mailbox)", {}, 400),
        ("EntityDefinitions(not-a-guid)", {}, 400),
        ("EntityDefinitions(LogicalName='mailbox')/Attributes(LogicalName='nope')", {}, 404),
        ("EntityDefinitions(LogicalName='mailbox')/Keys", {}, 404),
        ("EntityDefinitions(LogicalName='mailbox')/Attributes/Microsoft.Dynamics.CRM.X", {}, 404),
        (PICKLISTS, {"$expand": "GlobalOptionSet"}, 400),
        (PICKLISTS, {"$expand": "OptionSet($select=Nope)"}, 400),
    ],
)
def test_bad_metadata_requests_are_answered_not_crashed(
    sim: RunningSim, path: str, params: dict[str, str], status: int
) -> None:
    """compose-http-requests-handle-errors (reference §6.1): a 4xx with the error body."""
    with dv(sim) as client:
        resp = client.get(path, params=params)
    assert resp.status_code == status, resp.text
    error_of(resp)


def test_definitions_are_read_only(sim: RunningSim) -> None:
    """The sim serves table definitions for reading; a write is 405 (its metadata is fixed)."""
    with dv(sim) as client:
        resp = client.post("EntityDefinitions", json={"LogicalName": "new_table"})
    assert resp.status_code == 405
    error_of(resp)


def test_any_user_reads_definitions(sim: RunningSim) -> None:
    """Definitions carry no rows: a Basic User who reads only their own mailbox still reads
    the mailbox table's definition (Microsoft documents no privilege for reading them; the sim
    gates none)."""
    with dv(sim, user_token(sim, "alice")) as client:
        resp = client.get("EntityDefinitions", params={"$filter": "LogicalName eq 'mailbox'"})
    assert resp.status_code == 200
    assert [r["EntitySetName"] for r in resp.json()["value"]] == ["mailboxes"]
