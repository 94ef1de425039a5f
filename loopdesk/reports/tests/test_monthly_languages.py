"""The monthly workbook is kept in Chinese and in English: an English user downloads the English one."""

from __future__ import annotations

import io

from django.test import Client
from openpyxl import load_workbook

from loopdesk.conftest import World
from loopdesk.reports.models import StoredReport
from loopdesk.reports.monthly import produce_monthly_report
from loopdesk.tickets.models import Ticket


def _download(client: Client, url: str, **headers: str) -> tuple[str, list[str], list]:
    response = client.get(url, **headers)
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    header = list(next(book.worksheets[0].iter_rows(values_only=True)))
    return response["Content-Disposition"], book.sheetnames, header


def test_the_monthly_workbook_downloads_in_the_users_language(world: World, history: list[Ticket], settings,
                                                             tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    stored = produce_monthly_report(2026, 11, "JM")
    assert stored.file and stored.file_en and stored.file.name != stored.file_en.name
    client = Client()
    client.force_login(world.users["supervisor"])
    url = f"/reports/files/{stored.pk}/"
    name, sheets, header = _download(client, url, HTTP_ACCEPT_LANGUAGE="en")
    assert sheets[0] == "Overview" and "By department" in sheets and header[0] == "Measure"
    assert "Monthly%20report%20JM%202026-11.xlsx" in name or "Monthly report JM 2026-11.xlsx" in name
    name, sheets, header = _download(client, url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert sheets[0] == "总览" and header[0] == "指标"
    # Either language from the list, whatever the page's language.
    listing = client.get("/reports/files/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f"{url}?language=en" in listing and f"{url}?language=zh-hans" in listing
    assert _download(client, f"{url}?language=en", HTTP_ACCEPT_LANGUAGE="zh-hans")[1][0] == "Overview"
    assert _download(client, f"{url}?language=zh-hans", HTTP_ACCEPT_LANGUAGE="en")[1][0] == "总览"
    # Producing it again replaces both files (the old ones are deleted).
    old = {stored.file.name, stored.file_en.name}
    again = produce_monthly_report(2026, 11, "JM")
    assert again.pk == stored.pk
    for old_name in old - {again.file.name, again.file_en.name}:
        assert not again.file.storage.exists(old_name)
    # A report kept before English workbooks: the English one is written at its first English download, and kept.
    StoredReport.objects.filter(pk=stored.pk).update(file_en="")
    assert _download(client, url, HTTP_ACCEPT_LANGUAGE="en")[1][0] == "Overview"
    assert StoredReport.objects.get(pk=stored.pk).file_en
