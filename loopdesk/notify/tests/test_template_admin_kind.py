"""In the SMS template admin an existing template's kind could be changed: the acknowledgement's text became the
resolution SMS, and the acknowledgement went back to the built-in text without anyone seeing it. A saved template's
kind is read-only now (a template for another kind is added, not converted)."""

from __future__ import annotations

from loopdesk.conftest import World, post_admin_change, staff_client
from loopdesk.notify.models import MessageTemplate


def test_a_saved_templates_kind_is_read_only_in_the_admin(world: World) -> None:
    MessageTemplate.objects.filter(kind="resolution").delete()  # back to its built-in text: the kind is free
    template = MessageTemplate.objects.get(kind="ack")
    client = staff_client(world, "admin", language="en", superuser=True)
    url = f"/admin/notify/messagetemplate/{template.pk}/change/"
    assert 'name="kind"' not in client.get(url).content.decode()
    response = post_admin_change(client, url, {"kind": "resolution", "text": "工单{number}已受理，{handler_unit}处理中",
                                               "is_active": "on"})
    assert response.status_code == 302, response.content.decode()
    template.refresh_from_db()
    assert (template.kind, template.text) == ("ack", "工单{number}已受理，{handler_unit}处理中")
    assert not MessageTemplate.objects.filter(kind="resolution").exists()


def test_a_new_template_still_chooses_its_kind(world: World) -> None:
    MessageTemplate.objects.filter(kind="resolution").delete()
    client = staff_client(world, "admin", language="en", superuser=True)
    response = client.post("/admin/notify/messagetemplate/add/", {"kind": "resolution", "text": "工单{number}已办结",
                                                                  "is_active": "on"})
    assert response.status_code == 302, response.content.decode()
    assert MessageTemplate.objects.get(kind="resolution").text == "工单{number}已办结"
