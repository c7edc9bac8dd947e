"""Reads through the Web API face: query options, paging, navigation, annotations, ETags."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.sim.webapi_kit import (
    MAILBOX_ALICE,
    MAILBOX_GINA,
    PROFILE_EXO,
    PROFILE_ONPREM,
    ROLE_SYSADMIN,
    TEAM_OPS,
    USER_GINA,
    dv,
    error_of,
)
from tests.simharness import RunningSim

FORMATTED = "OData.Community.Display.V1.FormattedValue"


def _values(resp: httpx.Response) -> list[dict[str, Any]]:
    assert resp.status_code == 200, resp.text
    rows: list[dict[str, Any]] = resp.json()["value"]
    return rows


def _all_mailboxes(sim: RunningSim) -> dict[str, dict[str, Any]]:
    return {r["mailboxid"]: r for r in sim.state()["mailboxes"]}


# ---- paging ------------------------------------------------------------------------------


def test_paging_across_three_pages(sim: RunningSim) -> None:
    """reference §6.6: odata.maxpagesize, Preference-Applied, @odata.nextLink followed unchanged
    until it is absent; $top is ignored when a page size is asked for."""
    expected = _all_mailboxes(sim)
    size = len(expected) // 3 + 1  # three pages, the last one shorter
    seen: list[str] = []
    pages = 0
    with dv(sim) as client:
        headers = {"Prefer": f"odata.maxpagesize={size}"}
        resp = client.get("mailboxes", params={"$select": "name", "$top": "5"}, headers=headers)
        while True:
            pages += 1
            assert resp.status_code == 200, resp.text
            assert resp.headers["Preference-Applied"] == f"odata.maxpagesize={size}"
            body = resp.json()
            assert all(set(r) == {"@odata.etag", "name", "mailboxid"} for r in body["value"])
            seen += [r["mailboxid"] for r in body["value"]]
            link = body.get("@odata.nextLink")
            if link is None:
                break
            assert link.startswith(f"{sim.origin}/api/data/v9.2/mailboxes?")
            assert "%24select=name" in link or "$select=name" in link
            resp = client.get(link, headers=headers)
    assert pages == 3
    assert len(seen) == len(set(seen)) == len(expected)
    assert set(seen) == set(expected)
    assert seen == sorted(seen)  # no $orderby: primary key order


def test_paging_survives_inserts_between_pages(sim: RunningSim) -> None:
    """reference §6.6: the link names where the last page ended, so rows added meanwhile
    neither repeat rows already served nor make the client skip any."""
    with dv(sim) as client:
        headers = {"Prefer": "odata.maxpagesize=50"}
        first = client.get(
            "mailboxes", params={"$select": "name", "$orderby": "name"}, headers=headers
        ).json()
        served = [r["mailboxid"] for r in first["value"]]
        # A row that sorts before everything already served, and one after.
        for name in ("AAA first", "zzz last"):
            resp = client.post("mailboxes", json={"name": name})
            assert resp.status_code == 204, resp.text
        link = first["@odata.nextLink"]
        while link:
            body = client.get(link, headers=headers).json()
            served += [r["mailboxid"] for r in body["value"]]
            link = body.get("@odata.nextLink")
    assert len(served) == len(set(served))
    names = {r["mailboxid"]: r["name"] for r in sim.state()["mailboxes"]}
    assert "zzz last" in {names[m] for m in served}


def test_tampered_or_reused_skiptoken_is_refused(sim: RunningSim) -> None:
    """reference §6.6: the client must not change the link or add to it."""
    with dv(sim) as client:
        headers = {"Prefer": "odata.maxpagesize=10"}
        link = client.get("mailboxes", params={"$select": "name"}, headers=headers).json()[
            "@odata.nextLink"
        ]
        changed = link.replace("%24select=name", "%24select=emailaddress").replace(
            "$select=name", "$select=emailaddress"
        )
        assert changed != link
        resp = client.get(changed, headers=headers)
        assert resp.status_code == 400
        assert error_of(resp)["code"] == "0x80060888"
        forged = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
        assert client.get(forged, headers=headers).status_code == 400


def test_default_page_is_5000_and_top_limits_without_page_size(sim: RunningSim) -> None:
    """reference §6.6: default and maximum page 5000; without maxpagesize $top applies."""
    with dv(sim) as client:
        resp = client.get("mailboxes", params={"$select": "name"})
        body = resp.json()
        assert "@odata.nextLink" not in body
        assert len(body["value"]) == len(sim.state()["mailboxes"])
        assert "Preference-Applied" not in resp.headers
        top = client.get("mailboxes", params={"$select": "name", "$top": "7"}).json()
        assert len(top["value"]) == 7
        assert "@odata.nextLink" not in top
        big = client.get(
            "mailboxes", params={"$select": "name"}, headers={"Prefer": "odata.maxpagesize=9000"}
        )
        assert big.headers["Preference-Applied"] == "odata.maxpagesize=5000"


def test_count_is_capped_at_5000(sim: RunningSim) -> None:
    """reference §6.6: @odata.count counts at most 5000 rows; the annotation says more."""

    def add_rows() -> None:
        rows = sim.sim.state.tables["tracelogs"]
        for i in range(5100):
            key = str(uuid.uuid4())
            rows[key] = {"tracelogid": key, "text": f"t{i}", "level": 1, "versionnumber": 1}

    sim.thread.call(add_rows)
    with dv(sim) as client:
        body = client.get(
            "tracelogs",
            params={"$count": "true", "$select": "text"},
            headers={"Prefer": "odata.maxpagesize=10"},
        ).json()
    assert body["@odata.count"] == 5000
    assert body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] is True
    assert len(body["value"]) == 10


# ---- $filter -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "check"),
    [
        ("emailrouteraccessapproval eq 2", lambda r: r["emailrouteraccessapproval"] == 2),
        ("emailrouteraccessapproval ne 2", lambda r: r["emailrouteraccessapproval"] != 2),
        (
            "emailrouteraccessapproval eq 1 and mailboxstatus eq 1",
            lambda r: r["emailrouteraccessapproval"] == 1 and r["mailboxstatus"] == 1,
        ),
        (
            "(mailboxstatus eq 2 or mailboxstatus eq 0) and not (emailrouteraccessapproval eq 1)",
            lambda r: r["mailboxstatus"] in (0, 2) and r["emailrouteraccessapproval"] != 1,
        ),
        ("contains(emailaddress,'ALICE')", lambda r: "alice" in r["emailaddress"]),
        (
            "startswith(name,'generated user0001')",
            lambda r: r["name"].startswith("Generated user0001"),
        ),
        (
            "endswith(emailaddress,'@contoso.com')",
            lambda r: r["emailaddress"].endswith("@contoso.com"),
        ),
        ("processingstatecode gt 0", lambda r: r["processingstatecode"] > 0),
        ("processingstatecode ge 1", lambda r: r["processingstatecode"] >= 1),
        ("processingstatecode lt 1", lambda r: r["processingstatecode"] < 1),
        ("processingstatecode le 0", lambda r: r["processingstatecode"] <= 0),
        (
            "testmailboxaccesscompletedon eq null",
            lambda r: r["testmailboxaccesscompletedon"] is None,
        ),
        (
            "_emailserverprofile_value eq " + PROFILE_ONPREM,
            lambda r: r["_emailserverprofile_value"] == PROFILE_ONPREM,
        ),
        (
            "_regardingobjectid_value eq " + USER_GINA,
            lambda r: r["_regardingobjectid_value"] == USER_GINA,
        ),
        ("isforwardmailbox eq false", lambda r: r["isforwardmailbox"] is False),
        (
            "orgmarkedasprimaryforexchangesync",
            lambda r: r["orgmarkedasprimaryforexchangesync"] is True,
        ),
        ("name eq 'alice anders'", lambda r: r["name"] == "Alice Anders"),
        (
            "emailserverprofile/name eq 'Contoso Exchange (on-premises)'",
            lambda r: r["_emailserverprofile_value"] == PROFILE_ONPREM,
        ),
    ],
)
def test_filter_kinds(sim: RunningSim, expression: str, check: Any) -> None:
    """reference §0, §9: $filter operators, functions, null, unquoted GUIDs on `_x_value`
    lookups, booleans; string comparisons ignore case as Dataverse's collation does."""
    everything = list(_all_mailboxes(sim).values())
    expected = {r["mailboxid"] for r in everything if check(r)}
    with dv(sim) as client:
        rows = _values(client.get("mailboxes", params={"$filter": expression, "$select": "name"}))
    assert {r["mailboxid"] for r in rows} == expected
    assert expected or expression.startswith("orgmarked")  # most filters select something


def test_filter_string_escape_and_datetime(sim: RunningSim) -> None:
    """reference §0: '' escapes a quote; date-time literals compare with date-time columns."""
    with dv(sim) as client:
        resp = client.post("mailboxes", json={"name": "O'Brien box"})
        assert resp.status_code == 204, resp.text
        rows = _values(client.get("mailboxes", params={"$filter": "name eq 'O''Brien box'"}))
        assert [r["name"] for r in rows] == ["O'Brien box"]
        later = _values(
            client.get("mailboxes", params={"$filter": "createdon gt 2000-01-01T00:00:00Z"})
        )
        assert len(later) == len(sim.state()["mailboxes"])
        none = _values(client.get("mailboxes", params={"$filter": "createdon lt 2000-01-01"}))
        assert none == []


def _general_path(terms: list[str]) -> str:
    """The same disjunction with every term as `not (not (…))`: no term is then a plain
    `<column> eq <literal>`, so the sim evaluates each one as its own predicate."""
    return " or ".join(f"not (not ({t}))" for t in terms)


@pytest.mark.parametrize(
    "terms",
    [
        # the bot's verifying read: many keys of one column
        [f"mailboxid eq {key}" for key in (MAILBOX_ALICE, MAILBOX_GINA, str(uuid.uuid4()))],
        # strings ignore case
        ["name eq 'ALICE anders'", "name eq 'gina GLOBAL'", "name eq 'nobody'"],
        # mixed columns, kinds and non-equality terms
        [
            "name eq 'ALICE anders'",
            "emailaddress eq 'nobody@contoso.com'",
            "emailrouteraccessapproval eq 3",
            "_emailserverprofile_value eq " + PROFILE_ONPREM,
            "isforwardmailbox eq true",
            "testmailboxaccesscompletedon eq null",
            "processingstatecode gt 0",
            "contains(emailaddress,'user0002')",
            "emailserverprofile/name eq 'Contoso Exchange Online'",
            "createdon lt 2000-01-01",
            "name eq 'alice anders'",
        ],
        # nested disjunctions inside a conjunction
        [
            "(mailboxstatus eq 0 or mailboxstatus eq 2) and emailrouteraccessapproval eq 1",
            "mailboxid eq " + MAILBOX_GINA,
        ],
    ],
)
def test_or_chains_answer_as_their_terms_one_by_one(sim: RunningSim, terms: list[str]) -> None:
    """reference §0, §9: `a or b or …` selects the rows any term selects. The sim evaluates
    the `<column> eq <literal>` terms of a chain as one set lookup per row (the bot's
    verifying reads are chains of 100 ids); the answer must be the one each term gives on
    its own, for every kind of term."""
    with dv(sim) as client:
        by_term: set[str] = set()
        for term in terms:
            rows = _values(client.get("mailboxes", params={"$filter": term, "$select": "name"}))
            by_term |= {r["mailboxid"] for r in rows}
        fast = _values(
            client.get("mailboxes", params={"$filter": " or ".join(terms), "$select": "name"})
        )
        general = _values(
            client.get("mailboxes", params={"$filter": _general_path(terms), "$select": "name"})
        )
    assert by_term, "the terms select something"
    assert [r["mailboxid"] for r in fast] == [r["mailboxid"] for r in general]
    assert {r["mailboxid"] for r in fast} == by_term


def test_a_bad_term_in_an_or_chain_is_the_same_400(sim: RunningSim) -> None:
    """reference §6.1: a chain with an ill-typed term fails as that term does on its own,
    whichever term it is and however the chain is evaluated."""
    good = f"mailboxid eq {MAILBOX_ALICE}"
    with dv(sim) as client:
        for bad in ("name eq 1", "_emailserverprofile_value eq '" + PROFILE_EXO + "'"):
            alone = client.get("mailboxes", params={"$filter": bad})
            chained = client.get("mailboxes", params={"$filter": f"{good} or {bad} or {good}"})
            assert alone.status_code == chained.status_code == 400, chained.text
            assert error_of(chained) == error_of(alone)


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("_emailserverprofile_value eq '" + PROFILE_EXO + "'", "incompatible types"),
        ("name eq 1", "incompatible types"),
        ("nosuchcolumn eq 1", "Could not find a property named 'nosuchcolumn'"),
        ("name eq", "Syntax error"),
        ("(name eq 'x'", "Syntax error"),
        ("tolower(name) eq 'x'", "not supported"),
        ("frobnicate(name)", "unknown function"),
        ("emailaddress in ('a','b')", "'in' operator"),
        ("name", "single boolean value"),
        ("tracelog_Mailbox/any(t:t/level eq 3)", "not supported"),
        ("Microsoft.Dynamics.CRM.Today(PropertyName='createdon')", "not supported"),
    ],
)
def test_bad_filters_are_400(sim: RunningSim, expression: str, fragment: str) -> None:
    """reference §6.1: a malformed or unsupported $filter is a 400 with a Dataverse body."""
    with dv(sim) as client:
        resp = client.get("mailboxes", params={"$filter": expression})
    assert resp.status_code == 400, resp.text
    err = error_of(resp)
    assert err["code"] == "0x80060888"
    assert fragment.lower() in err["message"].lower()


# ---- $select / $orderby / $top / $expand ----------------------------------------------------


def test_select_returns_only_the_columns_plus_key_and_etag(sim: RunningSim) -> None:
    """reference §6.4, §9: every row has @odata.etag and its primary key."""
    with dv(sim) as client:
        body = client.get(
            f"mailboxes({MAILBOX_GINA})", params={"$select": "name,_emailserverprofile_value"}
        ).json()
    assert body["@odata.context"].endswith(
        "$metadata#mailboxes(name,_emailserverprofile_value)/$entity"
    )
    assert set(body) == {
        "@odata.context",
        "@odata.etag",
        "name",
        "_emailserverprofile_value",
        "mailboxid",
    }
    assert body["@odata.etag"].startswith('W/"')
    assert body["_emailserverprofile_value"] == PROFILE_EXO


def test_unknown_select_column_is_400_with_dataverse_message(sim: RunningSim) -> None:
    """troubleshoot web-api-client-errors: "Could not find a property named …"."""
    with dv(sim) as client:
        resp = client.get("mailboxes", params={"$select": "name,Name"})
    assert resp.status_code == 400
    assert error_of(resp) == {
        "code": "0x80060888",
        "message": "Could not find a property named 'Name' on type "
        "'Microsoft.Dynamics.CRM.mailbox'.",
    }


def test_orderby_several_columns_and_top(sim: RunningSim) -> None:
    """reference §9: $orderby with several columns and directions, then $top."""
    rows = list(_all_mailboxes(sim).values())
    rows.sort(key=lambda r: r["name"].casefold())
    rows.sort(key=lambda r: r["emailrouteraccessapproval"], reverse=True)
    with dv(sim) as client:
        got = _values(
            client.get(
                "mailboxes",
                params={
                    "$select": "name,emailrouteraccessapproval",
                    "$orderby": "emailrouteraccessapproval desc,name asc",
                    "$top": "20",
                },
            )
        )
    assert [r["mailboxid"] for r in got] == [r["mailboxid"] for r in rows[:20]]


def test_expand_lookups_with_nested_select(sim: RunningSim) -> None:
    """reference §1.1, §1.3, §5.3: mailbox → emailserverprofile, regardingobjectid (user) /
    regardingobjectid_queue; systemuser → defaultmailbox; tracelog → regardingobjectid_mailbox."""
    queue_mailbox = "3b000000-0000-4000-8000-0000000000f1"
    with dv(sim) as client:
        body = client.get(
            "mailboxes",
            params={
                "$select": "name",
                "$filter": f"mailboxid eq {MAILBOX_GINA} or mailboxid eq {queue_mailbox}",
                "$orderby": "name",
                "$expand": "emailserverprofile($select=name,servertype),"
                "regardingobjectid($select=fullname),regardingobjectid_queue($select=name)",
            },
        ).json()
        gina, queue = body["value"]
        assert gina["emailserverprofile"]["name"] == "Microsoft Exchange Online"
        assert set(gina["emailserverprofile"]) == {
            "@odata.etag",
            "name",
            "servertype",
            "emailserverprofileid",
        }
        assert gina["regardingobjectid"]["fullname"] == "Gina Global"
        assert gina["regardingobjectid_queue"] is None
        assert queue["regardingobjectid"] is None
        assert queue["regardingobjectid_queue"]["name"] == "Support"
        user = client.get(
            f"systemusers({USER_GINA})",
            params={"$select": "fullname", "$expand": "defaultmailbox($select=emailaddress)"},
        ).json()
        assert user["defaultmailbox"]["emailaddress"] == "gina@contoso.com"
        assert user["defaultmailbox"]["mailboxid"] == MAILBOX_GINA
        # tracelog → mailbox
        resp = client.post(
            "tracelogs",
            json={
                "text": "alert",
                "level": 3,
                "tracecode": 7,
                "regardingobjectid_mailbox@odata.bind": f"/mailboxes({MAILBOX_GINA})",
            },
        )
        assert resp.status_code == 204, resp.text
        logs = _values(
            client.get(
                "tracelogs",
                params={"$select": "text", "$expand": "regardingobjectid_mailbox($select=name)"},
            )
        )
        assert logs[0]["regardingobjectid_mailbox"]["name"] == "Gina Global"


def test_expand_of_a_column_is_400(sim: RunningSim) -> None:
    """OData: only navigation properties can be expanded."""
    with dv(sim) as client:
        for expand in ("name", "nosuch", "emailserverprofile($filter=name eq 'x')", "x(("):
            resp = client.get("mailboxes", params={"$expand": expand})
            assert resp.status_code == 400, (expand, resp.text)
            error_of(resp)


def test_collection_navigation_properties(sim: RunningSim) -> None:
    """reference §8, §5.3: roles of a user, teams of a user, roles of a team, alerts of a
    mailbox through the collection-valued navigation properties."""
    with dv(sim) as client:
        roles = _values(
            client.get(
                f"systemusers({USER_GINA})/systemuserroles_association",
                params={"$select": "name,roleid,_roletemplateid_value"},
            )
        )
        assert [r["roleid"] for r in roles] == [ROLE_SYSADMIN]
        assert roles[0]["_roletemplateid_value"] == "627090ff-40a3-4053-8790-584edc5be201"
        tess = "5e000000-0000-4000-8000-00000000000b"
        teams = _values(
            client.get(
                f"systemusers({tess})/teammembership_association",
                params={"$select": "teamid,name,teamtype"},
            )
        )
        assert [t["teamid"] for t in teams] == [TEAM_OPS]
        team_roles = _values(
            client.get(f"teams({TEAM_OPS})/teamroles_association", params={"$select": "name"})
        )
        assert [r["name"] for r in team_roles] == ["System Administrator"]
        assert (
            client.post(
                "tracelogs",
                json={
                    "text": "x",
                    "level": 2,
                    "regardingobjectid_mailbox@odata.bind": f"/mailboxes({MAILBOX_ALICE})",
                },
            ).status_code
            == 204
        )
        alerts = _values(
            client.get(
                f"mailboxes({MAILBOX_ALICE})/tracelog_Mailbox",
                params={"$select": "level,text", "$orderby": "modifiedon desc", "$top": "20"},
            )
        )
        assert [a["level"] for a in alerts] == [2]
        missing = client.get(f"systemusers({uuid.uuid4()})/systemuserroles_association")
        assert missing.status_code == 404
        assert error_of(missing)["code"] == "0x80040217"


def test_formatted_values_and_lookup_annotations(sim: RunningSim) -> None:
    """reference §0: FormattedValue for choices and lookups, lookuplogicalname and
    associatednavigationproperty with include-annotations="*"."""
    with dv(sim) as client:
        resp = client.get(
            f"mailboxes({MAILBOX_ALICE})",
            params={
                "$select": "emailrouteraccessapproval,actdeliverymethod,enabledforact,"
                "_emailserverprofile_value,_regardingobjectid_value"
            },
            headers={"Prefer": 'odata.include-annotations="*"'},
        )
        body = resp.json()
        fv = "@OData.Community.Display.V1.FormattedValue"
        assert body[f"emailrouteraccessapproval{fv}"] == "Pending Approval"
        assert body[f"actdeliverymethod{fv}"] == "Server-Side Synchronization"
        assert body[f"enabledforact{fv}"] == "Yes"
        assert body[f"_emailserverprofile_value{fv}"] == "Microsoft Exchange Online"
        assert body["_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == (
            "systemuser"
        )
        assert (
            body["_regardingobjectid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"]
            == "regardingobjectid"
        )
        assert resp.headers["Preference-Applied"] == 'odata.include-annotations="*"'
        only_fv = client.get(
            f"mailboxes({MAILBOX_ALICE})",
            params={"$select": "_emailserverprofile_value"},
            headers={
                "Prefer": 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"'
            },
        ).json()
        assert f"_emailserverprofile_value{fv}" in only_fv
        assert not any("lookuplogicalname" in k for k in only_fv)


def test_conditional_get_304(sim: RunningSim) -> None:
    """reference §6.4: If-None-Match with the current ETag → 304, never with $expand or
    annotations; a changed row → 200."""
    with dv(sim) as client:
        first = client.get(f"mailboxes({MAILBOX_ALICE})", params={"$select": "name"})
        tag = first.json()["@odata.etag"]
        same = client.get(
            f"mailboxes({MAILBOX_ALICE})",
            params={"$select": "name"},
            headers={"If-None-Match": tag},
        )
        assert same.status_code == 304
        expanded = client.get(
            f"mailboxes({MAILBOX_ALICE})",
            params={"$select": "name", "$expand": "emailserverprofile($select=name)"},
            headers={"If-None-Match": tag},
        )
        assert expanded.status_code == 200
        annotated = client.get(
            f"mailboxes({MAILBOX_ALICE})",
            headers={"If-None-Match": tag, "Prefer": 'odata.include-annotations="*"'},
        )
        assert annotated.status_code == 200
        assert (
            client.patch(
                f"mailboxes({MAILBOX_ALICE})",
                json={"ewsurl": "https://x/ews"},
                headers={"If-Match": "*"},
            ).status_code
            == 204
        )
        changed = client.get(
            f"mailboxes({MAILBOX_ALICE})",
            params={"$select": "name"},
            headers={"If-None-Match": tag},
        )
        assert changed.status_code == 200
        assert changed.json()["@odata.etag"] != tag


def test_single_row_errors(sim: RunningSim) -> None:
    """reference §6.1: missing row 404 ObjectDoesNotExist; collection-only options refused."""
    with dv(sim) as client:
        missing = uuid.uuid4()
        resp = client.get(f"mailboxes({missing})")
        assert resp.status_code == 404
        assert error_of(resp) == {
            "code": "0x80040217",
            "message": f"mailbox With Id = {missing} Does Not Exist",
        }
        assert client.get(f"mailboxes({MAILBOX_GINA})", params={"$top": "1"}).status_code == 400


def test_service_document_and_property_value(sim: RunningSim) -> None:
    """OData service root lists the entity sets; a property segment returns {"value": …}."""
    with dv(sim) as client:
        names = {s["name"] for s in client.get("").json()["value"]}
        assert {
            "mailboxes",
            "systemusers",
            "queues",
            "emailserverprofiles",
            "organizations",
            "tracelogs",
            "roles",
            "teams",
        } == names
        value = client.get(f"mailboxes({MAILBOX_GINA})/emailaddress").json()
        assert value["value"] == "gina@contoso.com"
        profile = client.get(f"mailboxes({MAILBOX_GINA})/emailserverprofile").json()
        assert profile["emailserverprofileid"] == PROFILE_EXO


def test_reads_respect_the_callers_read_depth(sim: RunningSim) -> None:
    """reference §8 (rules.can_read): a Basic User (mailbox read at user depth) sees only
    their own mailbox in a collection and gets 403 on someone else's."""
    from tests.sim.webapi_kit import user_token

    with dv(sim, user_token(sim, "alice")) as client:
        rows = _values(client.get("mailboxes", params={"$select": "name"}))
        assert [r["mailboxid"] for r in rows] == [MAILBOX_ALICE]
        other = client.get(f"mailboxes({MAILBOX_GINA})")
        assert other.status_code == 403
        error_of(other)


def test_change_tracking_is_refused_not_ignored(sim: RunningSim) -> None:
    """reference §6.10, §12.10: change tracking for mailbox is unconfirmed, so the sim says
    so with a 400 instead of answering without a delta link."""
    with dv(sim) as client:
        resp = client.get(
            "mailboxes", params={"$select": "name"}, headers={"Prefer": "odata.track-changes"}
        )
    assert resp.status_code == 400
    assert "change tracking" in error_of(resp)["message"].lower()


def test_reference_worked_examples(sim: RunningSim) -> None:
    """reference §8 and §9: the worked queries answer as written there."""
    gina = sim.person("gina")
    with dv(sim) as client:
        users = _values(
            client.get(
                "systemusers",
                params={
                    "$filter": f"azureactivedirectoryobjectid eq {gina.object_id}",
                    "$select": "systemuserid,internalemailaddress,domainname,"
                    "_defaultmailbox_value,emailrouteraccessapproval",
                },
            )
        )
        assert [u["systemuserid"] for u in users] == [USER_GINA]
        assert users[0]["_defaultmailbox_value"] == MAILBOX_GINA
        dma = _values(
            client.get(
                "roles",
                params={
                    "$filter": "name eq 'Delegated Mailbox Approver'",
                    "$select": "roleid,_roletemplateid_value,_businessunitid_value",
                },
            )
        )
        assert [r["roleid"] for r in dma] == ["70000000-0000-4000-8000-000000000002"]
        mailbox = _values(
            client.get(
                "mailboxes",
                params={
                    "$filter": f"_regardingobjectid_value eq {USER_GINA}",
                    "$select": "mailboxid,name,emailaddress,emailrouteraccessapproval,"
                    "isemailaddressapprovedbyo365admin,incomingemaildeliverymethod,"
                    "outgoingemaildeliverymethod,actdeliverymethod,incomingemailstatus,"
                    "outgoingemailstatus,actstatus,mailboxstatus,testemailconfigurationscheduled,"
                    "testmailboxaccesscompletedon,enabledforincomingemail,enabledforoutgoingemail,"
                    "enabledforact,orgmarkedasprimaryforexchangesync,_emailserverprofile_value,"
                    "statecode",
                },
                headers={"Prefer": f'odata.include-annotations="{FORMATTED}"'},
            )
        )
        assert [m["mailboxid"] for m in mailbox] == [MAILBOX_GINA]
        org = _values(
            client.get(
                "organizations",
                params={
                    "$select": "_defaultemailserverprofileid_value,defaultemailsettings,"
                    "requireapprovalforuseremail,requireapprovalforqueueemail,"
                    "emailconnectionchannel,generatealertsforerrors,generatealertsforwarnings,"
                    "generatealertsforinformation"
                },
            )
        )
        assert org[0]["_defaultemailserverprofileid_value"] == PROFILE_EXO
        profiles = _values(
            client.get(
                "emailserverprofiles",
                params={
                    "$filter": "statecode eq 0",
                    "$select": "name,servertype,emailservertypename,incomingcredentialretrieval,"
                    "outgoingcredentialretrieval,useautodiscover,defaultserverlocation,"
                    "incomingserverlocation,outgoingserverlocation",
                },
            )
        )
        assert {p["emailserverprofileid"] for p in profiles} == {PROFILE_EXO, PROFILE_ONPREM}
        alerts = client.get(
            "tracelogs",
            params={
                "$filter": f"_regardingobjectid_value eq {MAILBOX_GINA}",
                "$select": "level,text,tracecode,tracestatus,createdon,modifiedon",
                "$orderby": "modifiedon desc",
                "$top": "20",
            },
        )
        assert alerts.status_code == 200
