"""The outbox in the admin listed each message's channel and topic as stored codes ('sms', 'ack', 'resolution'), in
the Chinese admin too, on the list and on a message's page; an SMS is named by its kind of message now (受理回执 …,
as on the SMS templates page) and the channel by name (短信 / SMS)."""

from __future__ import annotations

from django.contrib.auth.models import Group

from loopdesk.conftest import World, staff_client
from loopdesk.core.reference import _permissions_for_role
from loopdesk.org.choices import Role
from loopdesk.outbox.models import OutboxMessage
from loopdesk.tickets import services


def test_the_outbox_names_channels_and_sms_kinds(world: World) -> None:
    Group.objects.get_or_create(name=Role.AUDITOR)[0].permissions.add(*_permissions_for_role(Role.AUDITOR))
    services.do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    ack = OutboxMessage.objects.get(channel="sms", topic="ack")
    for language, channel, kind in (("zh-hans", "短信", "受理回执（工单号和承诺日期）"),
                                    ("en", "SMS", "Acknowledgement (number and committed date)")):
        client = staff_client(world, "auditor", language=language)
        for url in ("/admin/outbox/outboxmessage/", f"/admin/outbox/outboxmessage/{ack.pk}/change/"):
            page = client.get(url)
            text = page.content.decode()
            assert page.status_code == 200, url
            assert channel in text and kind in text, (language, url)
            assert ">sms<" not in text and ">ack<" not in text, (language, url)
            assert "138****" in text or url.endswith("/outboxmessage/"), (language, url)  # still masked for them
