"""The reports' admin pages: kept reports and imports read only, their kind and scope by name, not as stored."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.utils import timezone

from loopdesk.conftest import World
from loopdesk.reports.models import ImportJob, ImportRun, StoredReport


def _admin(world: World) -> Client:
    user = world.users["admin"]
    user.is_staff = user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    client = Client()
    client.force_login(user)
    return client


def test_stored_reports_and_imports_show_their_kind_and_scope_by_name(world: World) -> None:
    """The add page of a stored report was an empty read-only form reading "Kind: monthly" (in Chinese too), and
    its save kept a report without a month or a file; the lists showed "monthly", "province:GD" and "tickets"."""
    client = _admin(world)
    now = timezone.now()
    stored = StoredReport.objects.create(period=dt.date(2026, 11, 1), scope="province:GD", file="reports/x.xlsx",
                                         created_at=now)
    run = ImportRun.objects.create(kind="customers", filename="c.csv", created_at=now)
    ImportJob.objects.create(kind="tickets", dry_run=True, filename="t.csv", file_key="k", token="t",
                             created_by=world.users["admin"])
    for url in ("/admin/reports/storedreport/add/", "/admin/reports/importrun/add/"):
        assert client.get(url).status_code == 403, url
    assert StoredReport.objects.count() == 1
    for language, words in (("en", ("Monthly report", "GD province-wide", "Customers", "Work orders")),
                            ("zh-hans", ("月报", "GD 全省", "客户", "工单"))):
        pages = "".join(client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode() for url in (
            "/admin/reports/storedreport/", f"/admin/reports/storedreport/{stored.pk}/change/",
            "/admin/reports/importrun/", f"/admin/reports/importrun/{run.pk}/change/", "/admin/reports/importjob/"))
        for word in words:
            assert word in pages, (language, word)
        assert ">monthly<" not in pages and ">province:GD<" not in pages and ">customers<" not in pages
        assert ">tickets<" not in pages and "kind=tickets" in pages  # the kind filter, by name
    assert client.get("/admin/reports/importjob/?kind=customers").context["cl"].result_count == 0
    assert client.get("/admin/reports/importjob/?kind=tickets").context["cl"].result_count == 1
