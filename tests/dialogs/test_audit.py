"""The audit log through the router: what the write commands record, who may read it, and
undo (checked, audited, refused when the mailbox changed since)."""

from __future__ import annotations

from dataverse import DataverseClient
from dataverse.models import Mailbox
from dialogs.router import Router
from store import AuditResult, Store
from tests.dialogs.kit import text_of
from tests.dialogs.routing_kit import mailbox_patches, mailbox_row, press, say
from tests.simharness import RunningSim


def _alice(sim: RunningSim) -> str:
    return str(sim.person("alice").mailbox.id)


async def test_an_approval_is_recorded_with_before_and_after(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    await say(routed, sim, store, "eddie", "approve mailbox for alice")
    (entry,) = await store.audit.by_target(_alice(sim))
    assert entry.action == "approve-email"
    assert entry.result is AuditResult.OK
    assert entry.actor.object_id == sim.person("eddie").object_id
    assert entry.actor.name == "Eddie Exchange"
    assert entry.environment == "prod"
    assert entry.before == {"emailrouteraccessapproval": 2}
    assert entry.after == {"emailrouteraccessapproval": 1}
    assert entry.correlation_id
    assert entry.target is not None and entry.target.display == "Alice Anders"


async def test_a_denial_is_recorded(routed: Router, sim: RunningSim, store: Store) -> None:
    await say(routed, sim, store, "sam", "approve mailbox for alice")
    (entry,) = await store.audit.by_target(_alice(sim))
    assert entry.result is AuditResult.DENIED
    assert entry.actor.object_id == sim.person("sam").object_id
    assert entry.detail == "rule online/exchange-online/sa"
    assert entry.before is None


async def test_settings_and_test_and_enable_are_recorded(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    await say(routed, sim, store, "eddie", "set outgoing email for alice to outlook")
    await say(routed, sim, store, "eddie", "test mailbox bob")
    (setting,) = await store.audit.by_target(_alice(sim))
    assert setting.action == "change-mailbox-delivery"
    assert setting.before == {"outgoingemaildeliverymethod": 2}
    assert setting.after == {"outgoingemaildeliverymethod": 1}
    (test,) = await store.audit.by_target(str(sim.person("bob").mailbox.id))
    assert test.action == "test-and-enable"
    assert test.before is None  # scheduling a test is not a value to restore


async def test_a_confirmed_bulk_change_records_each_mailbox(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    preview = await say(
        routed, sim, store, "eddie", "set outgoing email for alice and una to outlook"
    )
    await press(routed, sim, store, "eddie", preview, "Confirm")
    for name in ("alice", "una"):
        (entry,) = await store.audit.by_target(str(sim.person(name).mailbox.id))
        assert entry.after == {"outgoingemaildeliverymethod": 1}


async def test_audit_for_a_mailbox_and_the_latest(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    await say(routed, sim, store, "sam", "approve mailbox for alice")
    await say(routed, sim, store, "eddie", "approve mailbox for alice")
    await say(routed, sim, store, "eddie", "set outgoing email for bob to outlook")

    shown = text_of(await say(routed, sim, store, "eddie", "audit for alice"))
    assert "Audit log" in shown
    assert "Eddie Exchange" in shown and "Sam Sysadmin" in shown
    assert "Pending approval → Approved" in shown
    assert "Bob Brown" not in shown

    latest = text_of(await say(routed, sim, store, "gina", "audit last 2"))
    assert "Bob Brown" in latest
    assert "Sam Sysadmin" not in latest


async def test_the_log_is_for_system_administrators(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    await say(routed, sim, store, "eddie", "approve mailbox for alice")
    answer = text_of(await say(routed, sim, store, "una", "audit for alice"))
    assert "You can't read the audit log" in answer
    assert "Eddie Exchange" not in answer


async def test_undo_restores_the_before_values_and_is_audited(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    await say(routed, sim, store, "eddie", "set outgoing email for alice to outlook")
    assert mailbox_row(sim, "alice")["outgoingemaildeliverymethod"] == 1

    answer = text_of(await say(routed, sim, store, "eddie", "undo last change to alice"))
    assert "Undone" in answer
    assert mailbox_row(sim, "alice")["outgoingemaildeliverymethod"] == 2
    undo, change = await store.audit.by_target(_alice(sim))
    assert undo.undoes == change.id
    assert undo.result is AuditResult.OK
    assert undo.before == {"outgoingemaildeliverymethod": 1}
    assert undo.after == {"outgoingemaildeliverymethod": 2}

    again = text_of(await say(routed, sim, store, "eddie", "undo last change to alice"))
    assert "Nothing to undo" in again


async def test_undo_of_an_approval_is_judged_like_rejecting(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    await say(routed, sim, store, "eddie", "approve mailbox for alice")
    refused = text_of(await say(routed, sim, store, "sam", "undo last change to alice"))
    assert "You can't do this" in refused
    assert mailbox_row(sim, "alice")["emailrouteraccessapproval"] == 1
    denied = (await store.audit.by_target(_alice(sim)))[0]
    assert denied.result is AuditResult.DENIED and denied.undoes is not None

    done = text_of(await say(routed, sim, store, "dana", "undo last change to alice"))
    assert "Undone" in done
    assert mailbox_row(sim, "alice")["emailrouteraccessapproval"] == 2
    (patch, _undo) = mailbox_patches(sim, "alice")
    assert _undo["caller_object_id"] == sim.person("dana").object_id


async def test_undo_is_refused_when_the_mailbox_changed_since(
    routed: Router, sim: RunningSim, store: Store, dv: DataverseClient
) -> None:
    await say(routed, sim, store, "eddie", "set outgoing email for alice to outlook")
    await dv.update_row(Mailbox, _alice(sim), {"outgoingemaildeliverymethod": 0})

    answer = text_of(await say(routed, sim, store, "eddie", "undo last change to alice"))
    assert "Not undone" in answer
    assert mailbox_row(sim, "alice")["outgoingemaildeliverymethod"] == 0
    failed = (await store.audit.by_target(_alice(sim)))[0]
    assert failed.result is AuditResult.FAILED and failed.detail == "changed since"


async def test_nothing_to_undo(routed: Router, sim: RunningSim, store: Store) -> None:
    answer = text_of(await say(routed, sim, store, "eddie", "undo last change to bob"))
    assert "Nothing to undo" in answer
