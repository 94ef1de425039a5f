"""The SMS template admin refused a multi-line text within the 500 characters of an SMS template: the form posts each
line break as CR LF, which the template check counted as two characters (and the text was stored with CR LF, two
characters of the customer's SMS). A line break is one character now, in the model's check, as in the workbench's
template editor."""

from __future__ import annotations

from loopdesk.conftest import World, post_admin_change, staff_client
from loopdesk.notify.models import MAX_SMS_TEXT, MessageTemplate


def test_a_multi_line_template_within_the_limit_is_saved_in_the_admin(world: World) -> None:
    template = MessageTemplate.objects.get(kind="ack")  # the built-in texts are stored rows
    client = staff_client(world, "admin", language="en", superuser=True)
    lines = "\n".join(["工单{number}已受理。"] + ["信号时好时坏，请尽快处理"] * 37)
    text = lines + "好" * (MAX_SMS_TEXT - len(lines))
    assert len(text) == MAX_SMS_TEXT
    url = f"/admin/notify/messagetemplate/{template.pk}/change/"
    response = post_admin_change(client, url, {"kind": "ack", "text": text.replace("\n", "\r\n"),
                                               "is_active": "on"})
    assert response.status_code == 302, response.content.decode()
    assert MessageTemplate.objects.get(pk=template.pk).text == text
