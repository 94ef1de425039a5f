"""The reports' admin pages: kept reports and imports read only, their kind and scope by name, not as stored."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.utils import timezone

from loopdesk.conftest import World, staff_client
from loopdesk.reports.models import ImportJob, ImportRun, StoredReport


def _admin(world: World) -> Client:
    return staff_client(world, "admin", superuser=True)


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


def test_a_city_auditor_lists_the_reports_and_imports_of_their_region_only(world: World) -> None:
    """Auditors view every model in the admin: a city's auditor listed every region's and the whole company's kept
    reports, and every region's imports and background imports (file names, problems)."""
    now = timezone.now()
    for scope in ("JM", "ZH", "province:GD", "all"):
        StoredReport.objects.create(period=dt.date(2026, 11, 1), scope=scope, file=f"reports/{scope}.xlsx",
                                    created_at=now)
    ImportRun.objects.create(kind="tickets", filename="jm.csv", created_at=now, created_by=world.users["agent"])
    ImportRun.objects.create(kind="tickets", filename="zh.csv", created_at=now, created_by=world.users["zh_agent"])
    for who, name in (("agent", "jm-job.csv"), ("zh_agent", "zh-job.csv")):
        ImportJob.objects.create(kind="tickets", dry_run=True, filename=name, file_key="k", token="t",
                                 created_by=world.users[who])
    auditor = world.users["auditor"]
    auditor.is_staff = True
    auditor.save(update_fields=["is_staff"])
    from collections import Counter

    from loopdesk.core.reference import _seed_groups

    _seed_groups(Counter())  # what seed_reference grants the role groups: auditors view every model
    client = Client()
    client.force_login(auditor)
    listed = client.get("/admin/reports/storedreport/")
    assert listed.status_code == 200
    assert sorted(r.scope for r in listed.context["cl"].result_list) == ["JM"]
    runs = client.get("/admin/reports/importrun/").context["cl"].result_list
    jobs = client.get("/admin/reports/importjob/").context["cl"].result_list
    assert [r.filename for r in runs] == ["jm.csv"] and [j.filename for j in jobs] == ["jm-job.csv"]
    other = StoredReport.objects.get(scope="ZH")
    assert client.get(f"/admin/reports/storedreport/{other.pk}/change/").status_code == 302  # not found: home
    own = StoredReport.objects.get(scope="JM")
    page = client.get(f"/admin/reports/storedreport/{own.pk}/change/").content.decode()
    assert f'href="/reports/files/{own.pk}/?language=en"' in page and "/media/" not in page
    admin_client = _admin(world)
    assert admin_client.get("/admin/reports/storedreport/").context["cl"].result_count == 4
    assert admin_client.get("/admin/reports/importjob/").context["cl"].result_count == 2


def test_background_import_states_are_named_in_sentence_case_in_the_admin(world: World) -> None:
    """The background imports' state filter and list read "queued", "running", "finished", "failed" (lower-case
    labels) beside the admin's capitalised choices."""
    client = _admin(world)
    for state in ImportJob.State:
        ImportJob.objects.create(kind="tickets", dry_run=True, filename=f"{state}.csv", file_key="k", token="t",
                                 created_by=world.users["admin"], state=state)
    html = client.get("/admin/reports/importjob/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    label_state = {"Queued": "queued", "Running": "running", "Finished": "done", "Failed": "failed"}
    for label in ("Queued", "Running", "Finished", "Failed"):
        assert f'state__exact={ImportJob.State(label_state[label])}">{label}</a>' in html, label  # the filter
        assert f">{label}</td>" in html, label  # the list's state column
    for lower in ("queued", "running", "finished", "failed"):
        assert f">{lower}<" not in html, lower
    html = client.get("/admin/reports/importjob/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    for label in ("排队中", "运行中", "已完成", "失败"):
        assert f">{label}</a>" in html, label


def test_background_import_fields_are_named_in_chinese(world: World) -> None:
    """The background imports' list and page named some fields in English on the Chinese admin ("Finished at",
    "Started at", "Result", "Failure", "Columns", "Language": fields without a translated name)."""
    client = _admin(world)
    job = ImportJob.objects.create(kind="tickets", dry_run=True, filename="t.csv", file_key="k", token="t",
                                   created_by=world.users["admin"], state=ImportJob.State.FAILED, failure="boom",
                                   result={"rows": 1})
    pages = "".join(client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode() for url in (
        "/admin/reports/importjob/", f"/admin/reports/importjob/{job.pk}/change/"))
    for english in ("Finished at", "Started at", "Result", "Failure", "Columns", "Language"):
        assert f">{english}<" not in pages and f">{english}:<" not in pages, english
    for chinese in ("结束时间", "开始时间"):
        assert chinese in pages, chinese
