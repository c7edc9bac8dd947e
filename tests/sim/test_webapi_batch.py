"""`$batch` through the Web API face (reference §6.5, execute-batch-operations-using-web-api)."""

from __future__ import annotations

import uuid
from typing import Any

from tests.sim.webapi_kit import (
    API,
    MAILBOX_ALICE,
    MAILBOX_GINA,
    PROFILE_EXO,
    USER_ALICE,
    USER_SAM,
    Op,
    batch_body,
    dv,
    error_of,
    parse_batch_response,
)
from tests.simharness import RunningSim


def _post(sim: RunningSim, items: list[Op | list[Op]], **headers: str) -> Any:
    ctype, body = batch_body(items)
    with dv(sim) as client:
        return client.post(
            "$batch", content=body.encode(), headers={"Content-Type": ctype, **headers}
        )


def _names(sim: RunningSim) -> set[str]:
    return {r["name"] for r in sim.state()["mailboxes"]}


def test_batch_of_reads_and_writes(sim: RunningSim) -> None:
    """reference §6.5: parts run in order; relative and absolute request URLs; 200 overall."""
    resp = _post(
        sim,
        [
            Op("POST", f"{API}mailboxes", {"name": "batch one"}),
            Op("GET", f"{sim.origin}{API}mailboxes({MAILBOX_GINA})?$select=name"),
            Op("GET", "WhoAmI"),
        ],
    )
    assert resp.status_code == 200, resp.text
    parts = parse_batch_response(resp)
    assert [p.status for p in parts] == [204, 200, 200]
    assert parts[0].headers["OData-EntityId"].startswith(f"{sim.origin}{API}mailboxes(")
    assert parts[1].body["name"] == "Gina Global"
    assert "UserId" in parts[2].body
    assert "batch one" in _names(sim)


def test_failing_part_stops_the_batch(sim: RunningSim) -> None:
    """S16 "Handling errors": without continue-on-error the batch stops at the first failure,
    answers with its status, and the failure is the last part."""
    resp = _post(
        sim,
        [
            Op("POST", f"{API}mailboxes", {"name": "before failure"}),
            Op("POST", f"{API}mailboxes", {"name": "x" * 300}),
            Op("POST", f"{API}mailboxes", {"name": "after failure"}),
        ],
    )
    assert resp.status_code == 400
    parts = parse_batch_response(resp)
    assert [p.status for p in parts] == [204, 400]
    assert parts[-1].body["error"]["code"] == "0x80044331"
    names = _names(sim)
    assert "before failure" in names
    assert "after failure" not in names


def test_continue_on_error_answers_every_part(sim: RunningSim) -> None:
    """S16: with Prefer: odata.continue-on-error the batch is 200 and every part answers."""
    resp = _post(
        sim,
        [
            Op("POST", f"{API}mailboxes", {"name": "x" * 300}),
            Op("POST", f"{API}mailboxes", {"name": "second"}),
            Op("GET", f"{API}mailboxes({uuid.uuid4()})"),
            Op("POST", f"{API}mailboxes", {"name": "fourth"}),
        ],
        Prefer="odata.continue-on-error",
    )
    assert resp.status_code == 200
    parts = parse_batch_response(resp)
    assert [p.status for p in parts] == [400, 204, 404, 204]
    assert {"second", "fourth"} <= _names(sim)


def test_change_set_is_rolled_back(sim: RunningSim) -> None:
    """reference §6.5: a change set is atomic; when one member fails the others' changes are
    rolled back and the change set answers with that error."""
    before = {r["mailboxid"]: r for r in sim.state()["mailboxes"]}
    resp = _post(
        sim,
        [
            [
                Op("POST", f"{API}mailboxes", {"name": "in change set"}, content_id="1"),
                Op(
                    "PATCH",
                    f"{API}mailboxes({MAILBOX_ALICE})",
                    {"ewsurl": "https://cs/ews"},
                    headers={"If-Match": "*"},
                    content_id="2",
                ),
                Op(
                    "PATCH",
                    f"{API}mailboxes({uuid.uuid4()})",
                    {"name": "nope"},
                    headers={"If-Match": "*"},
                    content_id="3",
                ),
            ],
            Op("GET", f"{API}mailboxes({MAILBOX_ALICE})?$select=ewsurl"),
        ],
        Prefer="odata.continue-on-error",
    )
    assert resp.status_code == 200
    parts = parse_batch_response(resp)
    assert [p.status for p in parts] == [404, 200]
    assert parts[0].content_id == "3"
    assert parts[1].body["ewsurl"] is None
    after = {r["mailboxid"]: r for r in sim.state()["mailboxes"]}
    assert after == before


def test_change_set_commits_with_content_id_references(sim: RunningSim) -> None:
    """S16 "Reference URIs": $1 in a later member's URL and in @odata.bind."""
    resp = _post(
        sim,
        [
            [
                Op("POST", f"{API}mailboxes", {"name": "cs box"}, content_id="1"),
                Op(
                    "PATCH",
                    "$1",
                    {"emailserverprofile@odata.bind": f"/emailserverprofiles({PROFILE_EXO})"},
                    content_id="2",
                ),
                Op(
                    "POST",
                    f"{API}tracelogs",
                    {"text": "alert", "level": 3, "regardingobjectid_mailbox@odata.bind": "$1"},
                    content_id="3",
                ),
            ]
        ],
    )
    assert resp.status_code == 200, resp.text
    parts = parse_batch_response(resp)
    assert [p.status for p in parts] == [204, 204, 204]
    assert [p.content_id for p in parts] == ["1", "2", "3"]
    key = parts[0].headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")
    box = next(r for r in sim.state()["mailboxes"] if r["mailboxid"] == key)
    assert box["_emailserverprofile_value"] == PROFILE_EXO
    logs = [t for t in sim.state()["tracelogs"] if t.get("_regardingobjectid_value") == key]
    assert len(logs) == 1


def test_unknown_content_id_fails_the_change_set(sim: RunningSim) -> None:
    """S16: referencing a Content-ID not declared before is a 400."""
    resp = _post(sim, [[Op("PATCH", "$9", {"name": "x"}, content_id="1")]])
    assert resp.status_code == 400
    parts = parse_batch_response(resp)
    assert "does not exist in the batch context" in parts[0].body["error"]["message"]


def test_get_inside_a_change_set_is_400(sim: RunningSim) -> None:
    """reference §6.5: GET is not allowed inside a change set."""
    resp = _post(sim, [[Op("GET", f"{API}mailboxes")]])
    assert resp.status_code == 400
    assert "change set" in error_of(resp)["message"]


def test_more_than_1000_parts_are_refused(sim: RunningSim) -> None:
    """reference §6.5: at most 1000 requests per batch; nothing of it runs."""
    ops: list[Op | list[Op]] = [
        Op("POST", f"{API}tracelogs", {"text": f"t{i}", "level": 1}) for i in range(1001)
    ]
    resp = _post(sim, ops)
    assert resp.status_code == 400
    assert "1000" in error_of(resp)["message"]
    assert sim.state()["tracelogs"] == []
    ok = _post(sim, ops[:1000])
    assert ok.status_code == 200
    assert len(parse_batch_response(ok)) == 1000
    assert len(sim.state()["tracelogs"]) == 1000


def test_each_part_is_authorized_on_its_own(sim: RunningSim) -> None:
    """reference §6.7: a part's CallerObjectId applies to that part only."""
    alice = sim.person("alice")
    resp = _post(
        sim,
        [
            Op("GET", "WhoAmI", headers={"CallerObjectId": alice.object_id}),
            Op("GET", "WhoAmI"),
            Op(
                "GET",
                f"{API}mailboxes({MAILBOX_GINA})?$select=name",
                headers={"CallerObjectId": alice.object_id},
            ),
        ],
        Prefer="odata.continue-on-error",
    )
    parts = parse_batch_response(resp)
    assert parts[0].body["UserId"] == USER_ALICE
    assert parts[1].body["UserId"] != USER_ALICE
    assert parts[2].status == 403  # Alice reads only her own mailbox
    sam = sim.person("sam")
    outer = _post(sim, [Op("GET", "WhoAmI")], CallerObjectId=sam.object_id)
    assert parse_batch_response(outer)[0].body["UserId"] == USER_SAM


def test_malformed_batches_are_400(sim: RunningSim) -> None:
    """Bad multipart bodies are a 400 with a Dataverse body, never a 500."""
    with dv(sim) as client:
        cases = [
            ("multipart/mixed", "--x\r\n"),
            ("application/json", "{}"),
            ('multipart/mixed; boundary="b"', "--b\r\nContent-Type: application/http\r\n\r\n"),
            (
                'multipart/mixed; boundary="b"',
                "--b\r\nContent-Type: application/http\r\n\r\nFROB /x HTTP/1.1\r\n\r\n--b--\r\n",
            ),
            (
                'multipart/mixed; boundary="b"',
                "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--",
            ),
        ]
        for ctype, body in cases:
            resp = client.post("$batch", content=body.encode(), headers={"Content-Type": ctype})
            assert resp.status_code == 400, (ctype, body, resp.text)
            error_of(resp)
        assert client.get("$batch").status_code == 405
