"""An attachment whose name is long in bytes: a Chinese name of 85 characters or more is over the 255 bytes a file
system takes for a file name, and the upload was a server error (OSError: File name too long). The file is stored
under its name cut to fit (extension kept); the attachment keeps and shows the name as given."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from loopdesk.conftest import T0, World, staff_client
from loopdesk.tickets import services as s
from loopdesk.tickets.models import Attachment


def test_a_long_chinese_file_name_is_stored_and_kept(world: World, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    name = "客户反映家中室内无信号的话费账单截图" * 6 + ".txt"  # 108 characters, 320 bytes
    client = staff_client(world, "agent")
    response = client.post(f"/tickets/{t.pk}/attach/", {
        "file": SimpleUploadedFile(name, "账单内容".encode(), content_type="text/plain"), "visibility": "internal"})
    assert response.status_code == 302
    attachment = Attachment.objects.get(ticket=t)
    assert attachment.filename == name
    stored = attachment.file.name.rsplit("/", 1)[1]
    assert len(stored.encode()) <= 255 and stored.endswith(".txt") and name.startswith(stored[:-4])
    download = client.get(f"/tickets/{t.pk}/files/{attachment.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == "账单内容".encode()
    assert "filename*=utf-8''" in download["Content-Disposition"]
