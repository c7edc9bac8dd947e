"""The legacy impersonation header `MSCRMCallerID` (issue 13 point 5).

Source: powerapps-docs `developer/data-platform/webapi/impersonate-another-user-web-api.md`
("How to impersonate a user": preferred `CallerObjectId` with the Entra object id, legacy
`MSCRMCallerID` with the systemuserid; the caller needs prvActOnBehalfOfAnotherUser and the
privileges used are the intersection of both users'), reference §6.7. The page says nothing
about a request carrying both headers or about the error for a bad value: the sim's choices
are in `sim.rules.Impersonation` and are pinned here.
"""

from __future__ import annotations

from typing import Any

from tests.sim.webapi_kit import (
    API,
    APP_USER,
    MAILBOX_GINA,
    USER_ALICE,
    USER_GINA,
    USER_SAM,
    Op,
    batch_body,
    dv,
    error_of,
    parse_batch_response,
    user_token,
)
from tests.simharness import RunningSim


def _row(sim: RunningSim, entity_set: str, key: str) -> dict[str, Any]:
    row: dict[str, Any] = next(
        r for r in sim.state()[entity_set] if key in (r.get("mailboxid"), r.get("tracelogid"))
    )
    return row


def _batch(sim: RunningSim, items: list[Op | list[Op]], **headers: str) -> Any:
    ctype, body = batch_body(items)
    with dv(sim) as client:
        return client.post(
            "$batch", content=body.encode(), headers={"Content-Type": ctype, **headers}
        )


def test_mscrmcallerid_acts_as_the_systemuser(sim: RunningSim) -> None:
    """S18: `MSCRMCallerID: <systemuserid>` impersonates that user, like `CallerObjectId`
    does with the Entra object id; the recorder sees the effective caller."""
    with dv(sim) as client:
        resp = client.get("WhoAmI", headers={"MSCRMCallerID": USER_ALICE})
        upper = client.get("WhoAmI", headers={"mscrmcallerid": "{" + USER_ALICE.upper() + "}"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["UserId"] == USER_ALICE
    assert upper.json()["UserId"] == USER_ALICE
    recorded = [r for r in sim.requests() if r["path"].endswith("/WhoAmI")]
    assert recorded[-1]["caller_object_id"] == sim.person("alice").object_id


def test_mscrmcallerid_write_records_both_callers(sim: RunningSim) -> None:
    """S18 "Determine the actual user": after an impersonated write `modifiedby` is the
    impersonated user and `modifiedonbehalfby` the real caller."""
    with dv(sim) as client:
        resp = client.patch(
            f"mailboxes({MAILBOX_GINA})",
            json={"ewsurl": "https://ews.example/legacy"},
            headers={"If-Match": "*", "MSCRMCallerID": USER_SAM},
        )
    assert resp.status_code == 204, resp.text
    row = _row(sim, "mailboxes", MAILBOX_GINA)
    assert row["_modifiedby_value"] == USER_SAM
    assert row["_modifiedonbehalfby_value"] == APP_USER


def test_mscrmcallerid_needs_act_on_behalf(sim: RunningSim) -> None:
    """S18: the calling account needs prvActOnBehalfOfAnotherUser (the Delegate role);
    without it 403 0x8004A110, whichever header names the user."""
    with dv(sim, user_token(sim, "alice")) as client:
        resp = client.get("WhoAmI", headers={"MSCRMCallerID": USER_GINA})
    assert resp.status_code == 403
    assert error_of(resp)["code"] == "0x8004A110"


def test_mscrmcallerid_privileges_are_the_intersection(sim: RunningSim) -> None:
    """S18: the privileges used are the intersection of both users': the app may read every
    mailbox, Alice only her own, so the app acting as Alice may not read Gina's."""
    with dv(sim) as client:
        resp = client.get(
            f"mailboxes({MAILBOX_GINA})",
            params={"$select": "name"},
            headers={"MSCRMCallerID": USER_ALICE},
        )
    assert resp.status_code == 403, resp.text
    error_of(resp)


def test_mscrmcallerid_naming_the_caller_is_no_impersonation(sim: RunningSim) -> None:
    """powerapps-docs issue 2088 (CallerObjectId equal to the caller impersonates nobody);
    the sim reads the legacy header the same way."""
    with dv(sim) as client:
        resp = client.post(
            "tracelogs",
            json={"text": "mine", "level": 1},
            headers={"MSCRMCallerID": APP_USER, "Prefer": "return=representation"},
        )
    assert resp.status_code == 201, resp.text
    row = _row(sim, "tracelogs", resp.json()["tracelogid"])
    assert row["_createdonbehalfby_value"] is None


def test_bad_mscrmcallerid_values(sim: RunningSim) -> None:
    """A value that is no GUID is a 400 with a Dataverse error body, never a 500; a GUID that
    is no systemuserid is the missing row: 404 0x80040217 (unconfirmed, see the module)."""
    with dv(sim) as client:
        bad = client.get("WhoAmI", headers={"MSCRMCallerID": "not-a-guid"})
        unknown = client.get(
            "WhoAmI", headers={"MSCRMCallerID": "5e000000-0000-4000-8000-0000000fffff"}
        )
    assert bad.status_code == 400
    assert "MSCRMCallerID" in error_of(bad)["message"]
    assert unknown.status_code == 404
    assert error_of(unknown)["code"] == "0x80040217"


def test_both_headers_follow_caller_object_id(sim: RunningSim) -> None:
    """Unconfirmed (S18 does not say): with both headers the preferred `CallerObjectId`
    decides and `MSCRMCallerID` is ignored, even when it is malformed."""
    with dv(sim) as client:
        resp = client.get(
            "WhoAmI",
            headers={"CallerObjectId": sim.person("alice").object_id, "MSCRMCallerID": USER_SAM},
        )
        bad_legacy = client.get(
            "WhoAmI",
            headers={"CallerObjectId": sim.person("alice").object_id, "MSCRMCallerID": "x"},
        )
    assert resp.json()["UserId"] == USER_ALICE
    assert bad_legacy.json()["UserId"] == USER_ALICE


def test_mscrmcallerid_in_batch_parts(sim: RunningSim) -> None:
    """Reference §6.5, §6.7: each `$batch` part is authorized on its own; a part's own
    impersonation header (either one) applies to it, else the batch's."""
    resp = _batch(
        sim,
        [
            Op("GET", "WhoAmI", headers={"MSCRMCallerID": USER_ALICE}),
            Op("GET", "WhoAmI"),
            Op("GET", "WhoAmI", headers={"CallerObjectId": sim.person("alice").object_id}),
            Op(
                "GET",
                f"{API}mailboxes({MAILBOX_GINA})?$select=name",
                headers={"MSCRMCallerID": USER_ALICE},
            ),
        ],
        MSCRMCallerID=USER_SAM,
        Prefer="odata.continue-on-error",
    )
    assert resp.status_code == 200, resp.text
    parts = parse_batch_response(resp)
    assert [p.body.get("UserId") for p in parts[:3]] == [USER_ALICE, USER_SAM, USER_ALICE]
    assert parts[3].status == 403  # Alice reads only her own mailbox
    refused = _batch(sim, [Op("GET", "WhoAmI", headers={"MSCRMCallerID": "nope"})])
    assert parse_batch_response(refused)[0].status == 400
