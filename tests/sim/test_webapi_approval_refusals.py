"""How an approval the permission table refuses is answered (issue 13 point 6).

Sources (reference §4.3): the documented error list (S12: 0x8009000B
O365RoleUnsupportedForEmailApproval); the support article "A failure occurred in
CrmSecurity" (S40, a-failure-occurred-crmsecurity.md: inner fault -2147220906 = 0x80040256
"… should be a global administrator to approve mailbox …" under the outer fault
-2147220970 = 0x80040216); Microsoft.Xrm.Data.PowerShell issues 454 and 504 (S43: an
application user's approval "ran with no error but the mailbox stayed unapproved"). The
field shapes are scenarios (`sim.approval.ApprovalScenario`); the default is the documented.
"""

from __future__ import annotations

from typing import Any

import pytest

from sim import approval
from tests.sim.webapi_kit import MAILBOX_ALICE, dv, error_of
from tests.simharness import RunningSim

PENDING = 2


def _scenario(sim: RunningSim, chosen: approval.ApprovalScenario) -> None:
    sim.thread.call(lambda: approval.set_scenario(sim.sim.extras, sim.sim.state, chosen))


def _approve(sim: RunningSim, as_: str | None) -> Any:
    headers = {"If-Match": "*"}
    if as_ is not None:
        headers["CallerObjectId"] = sim.person(as_).object_id
    with dv(sim) as client:
        return client.patch(
            f"mailboxes({MAILBOX_ALICE})", json={"emailrouteraccessapproval": 1}, headers=headers
        )


def _approval_of_alice(sim: RunningSim) -> int:
    row = next(r for r in sim.state()["mailboxes"] if r["mailboxid"] == MAILBOX_ALICE)
    value: int = row["emailrouteraccessapproval"]
    return value


def test_documented_refusal_is_the_default(sim: RunningSim) -> None:
    """S12: System Administrator alone (sam) may not approve an Exchange Online address."""
    resp = _approve(sim, "sam")
    assert resp.status_code == 403
    assert error_of(resp)["code"] == "0x8009000B"
    assert _approval_of_alice(sim) == PENDING


@pytest.mark.parametrize(
    ("shape", "status", "code"),
    [
        (approval.RefusalShape.CRM_SECURITY, 403, "0x80040256"),
        (approval.RefusalShape.CRM_SECURITY_WRAPPED, 500, "0x80040216"),
    ],
)
def test_crm_security_refusals(
    sim: RunningSim, shape: approval.RefusalShape, status: int, code: str
) -> None:
    """S40: the CrmSecurity fault, as the inner 0x80040256 or wrapped in 0x80040216, with the
    article's text; always a Dataverse error body, and nothing stored."""
    _scenario(sim, approval.ApprovalScenario(refusal=shape))
    resp = _approve(sim, "sam")
    assert resp.status_code == status
    error = error_of(resp)
    assert error["code"] == code
    assert "doesn't match with UPN" in error["message"]
    assert "should be a global administrator to approve mailbox" in error["message"]
    assert _approval_of_alice(sim) == PENDING
    # A caller the table allows is not refused, whatever the shape.
    assert _approve(sim, "gina").status_code == 204
    assert _approval_of_alice(sim) == 1


def test_application_user_approval_silently_ignored(sim: RunningSim) -> None:
    """S43: the application user approving as itself gets 204 and the row stays pending."""
    refused = _approve(sim, None)
    assert refused.status_code == 403  # the default: refused like any other caller
    _scenario(sim, approval.ApprovalScenario(app_write_ignored=True))
    resp = _approve(sim, None)
    assert resp.status_code == 204, resp.text
    assert _approval_of_alice(sim) == PENDING
    # Only the app as itself: a person the table refuses is still told so.
    assert _approve(sim, "sam").status_code == 403


def test_scenario_ends_with_a_reset(sim: RunningSim) -> None:
    _scenario(sim, approval.ApprovalScenario(refusal=approval.RefusalShape.CRM_SECURITY))
    sim.reset()
    assert error_of(_approve(sim, "sam"))["code"] == "0x8009000B"
