"""The whole conversation: the router with every command family registered."""

from __future__ import annotations

from cards import verbs
from dialogs import (
    approvals,
    approvers,
    audit,
    bulk,
    explain,
    grammar,
    help,
    lists,
    mailbox_settings,
    mailboxes,
    oncall,
    org_settings,
    profiles,
)
from dialogs.context import Services
from dialogs.router import Router
from dialogs.signing import CardSigner


def build_router(services: Services, signer: CardSigner) -> Router:
    """A router with every family's commands and buttons; the parser is built now."""
    grammar.prepare()
    # ApprovalRouter is the Router that also audits forged clicks on approval cards.
    router: Router = approvals.ApprovalRouter(services, signer)
    for family in (
        mailboxes,
        mailbox_settings,
        lists,
        profiles,
        org_settings,
        approvers,
        approvals,
        audit,
        explain,
        oncall,
        help,
    ):
        family.register(router)
    router.action(verbs.PREVIEW_CONFIRM)(bulk.confirm)
    router.action(verbs.PREVIEW_CANCEL)(bulk.cancel)
    return router
