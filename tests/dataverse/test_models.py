"""Row models: logical-name aliases, tolerant option sets, hardened XML settings."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from dataverse._xml import UnsafeXml, flat_settings
from dataverse.errors import InvalidInput
from dataverse.models import (
    ActDelivery,
    DataverseVersion,
    EmailApproval,
    IncomingDelivery,
    Mailbox,
    MailboxChanges,
    OrgEmailSettings,
    TestStatus,
)

ORG = "0a000000-0000-4000-8000-000000000001"
EMAIL_SETTINGS = (
    "<EmailSettings><IncomingEmailDeliveryMethod>2</IncomingEmailDeliveryMethod>"
    "<OutgoingEmailDeliveryMethod>2</OutgoingEmailDeliveryMethod>"
    "<ACTDeliveryMethod>1</ACTDeliveryMethod></EmailSettings>"
)


def test_a_mailbox_row_maps_from_logical_names() -> None:
    row = Mailbox.model_validate(
        {
            "@odata.etag": 'W/"470867"',
            "mailboxid": "3b000000-0000-4000-8000-000000000001",
            "emailaddress": "gina@contoso.com",
            "emailrouteraccessapproval": 2,
            "incomingemaildeliverymethod": 2,
            "actdeliverymethod": 1,
            "mailboxstatus": 2,
            "_regardingobjectid_value": "5e000000-0000-4000-8000-000000000001",
            "_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "systemuser",
            "testmailboxaccesscompletedon": "2024-05-01T10:00:00Z",
            "somethingnew": 1,
        }
    )

    assert row.etag == 'W/"470867"'
    assert row.approval is EmailApproval.PENDING_APPROVAL
    assert row.incoming_delivery is IncomingDelivery.SERVER_SIDE_SYNC
    assert row.act_delivery is ActDelivery.SERVER_SIDE_SYNC
    assert row.mailbox_status is TestStatus.FAILURE
    assert row.regarding_type == "systemuser"
    assert not row.is_queue_mailbox
    assert row.test_completed_on is not None and row.test_completed_on.tzinfo is not None


def test_an_unknown_option_value_stays_a_number() -> None:
    row = Mailbox.model_validate({"mailboxid": str(uuid.uuid4()), "emailrouteraccessapproval": 42})

    assert row.approval == 42
    assert not isinstance(row.approval, EmailApproval)


def test_select_lists_every_column_but_annotations() -> None:
    columns = Mailbox.columns()

    assert "mailboxid" in columns
    assert "_emailserverprofile_value" in columns
    assert "regardingobjecttypecode" not in columns
    assert not any(c.startswith("@") for c in columns)


def test_org_settings_parse_both_xml_columns() -> None:
    org = OrgEmailSettings.model_validate(
        {
            "organizationid": ORG,
            "defaultemailsettings": EMAIL_SETTINGS,
            "orgdborgsettings": (
                "<OrgSettings><RequirePrivilegeToSelfApproveEmailAddress>true"
                "</RequirePrivilegeToSelfApproveEmailAddress></OrgSettings>"
            ),
        }
    )

    settings = org.default_email_settings
    assert settings is not None
    assert settings.incoming is IncomingDelivery.SERVER_SIDE_SYNC
    assert settings.act is ActDelivery.SERVER_SIDE_SYNC
    assert org.require_privilege_to_self_approve is True


def test_self_approval_privilege_is_off_when_the_setting_is_absent() -> None:
    org = OrgEmailSettings.model_validate({"organizationid": ORG, "orgdborgsettings": None})

    assert org.require_privilege_to_self_approve is False
    assert org.default_email_settings is None


@pytest.mark.parametrize(
    "document",
    [
        '<!DOCTYPE EmailSettings [<!ENTITY x "2">]><EmailSettings>'
        "<IncomingEmailDeliveryMethod>&x;</IncomingEmailDeliveryMethod></EmailSettings>",
        '<?xml version="1.0"?><!DOCTYPE EmailSettings SYSTEM "file:///etc/passwd">'
        "<EmailSettings/>",
        "<EmailSettings><IncomingEmailDeliveryMethod>&x;</IncomingEmailDeliveryMethod>"
        "</EmailSettings>",
        "<EmailSettings><IncomingEmailDeliveryMethod>2</EmailSettings>",
        "<Other/>",
        "<EmailSettings>" + "<A>1</A>" * 200_000 + "</EmailSettings>",
    ],
)
def test_unsafe_or_broken_xml_is_refused(document: str) -> None:
    with pytest.raises(UnsafeXml):
        flat_settings(document, root="EmailSettings")


def test_unsafe_xml_in_a_row_fails_validation() -> None:
    with pytest.raises(ValidationError):
        OrgEmailSettings.model_validate(
            {
                "organizationid": ORG,
                "defaultemailsettings": '<!DOCTYPE a [<!ENTITY b "c">]><EmailSettings/>',
            }
        )


def test_versions_compare_as_numbers() -> None:
    gate = DataverseVersion.parse("9.2.22104.00170")

    assert DataverseVersion.parse("9.2.25093.00214") > gate
    assert DataverseVersion.parse("9.2.22104.170") == gate
    assert DataverseVersion.parse("9.2.3.0") < gate
    assert DataverseVersion.parse("9.2") == DataverseVersion.parse("9.2.0.0")
    with pytest.raises(InvalidInput):
        DataverseVersion.parse("nine")


def test_mailbox_changes_send_only_what_was_set() -> None:
    profile = uuid.UUID("e5000000-0000-4000-8000-000000000001")

    body = MailboxChanges(
        server_profile_id=profile,
        incoming_delivery=IncomingDelivery.SERVER_SIDE_SYNC,
        test_scheduled=True,
    ).to_body()

    assert body == {
        "emailserverprofile@odata.bind": f"/emailserverprofiles({profile})",
        "incomingemaildeliverymethod": 2,
        "testemailconfigurationscheduled": True,
    }
    with pytest.raises(InvalidInput):
        MailboxChanges().to_body()
