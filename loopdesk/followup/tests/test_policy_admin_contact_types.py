"""The follow-up policy's "contact types with progress updates" was a text box asking a Chinese supervisor to type
English codes (complaint,appeal,fault); it lists the contact types by their names in the user's language, to tick,
and stores them as before."""

from __future__ import annotations

import re

from loopdesk.conftest import World, post_admin_change, staff_client
from loopdesk.followup.models import FollowupPolicy


def _policy() -> FollowupPolicy:
    policy = FollowupPolicy.current()
    if policy.pk is None:
        policy.save()
    return policy


def test_the_contact_types_are_ticked_by_their_chinese_names(world: World) -> None:
    policy = _policy()
    client = staff_client(world, "admin", language="zh-hans", superuser=True)
    url = f"/admin/followup/followuppolicy/{policy.pk}/change/"
    page = client.get(url).content.decode()
    assert 'type="checkbox" name="progress_contact_types" value="complaint"' in page and "投诉" in page
    checked = re.findall(r'<input type="checkbox" name="progress_contact_types" value="(\w+)"[^>]*checked', page)
    assert set(checked) == policy.progress_types() == {"complaint", "appeal", "fault"}
    form = client.get(url).context["adminform"].form
    data = {name: ("" if value is None else value) for name, value in form.initial.items()
            if name in form.fields and name not in ("edit_state", "progress_contact_types")}
    data["appeal_escalate_when_overtime"] = "on" if policy.appeal_escalate_when_overtime else ""
    data["progress_contact_types"] = ["fault", "complaint"]
    response = post_admin_change(client, url, data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert FollowupPolicy.objects.get(pk=policy.pk).progress_types() == {"complaint", "fault"}
