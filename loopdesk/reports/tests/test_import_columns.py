"""The import page's column list: sentence case in English, and the columns of what the user may import."""

from __future__ import annotations

import io

from django.test import Client

from loopdesk.conftest import World


def _page(world: World, who: str, language: str) -> str:
    client = Client()
    client.force_login(world.users[who])
    return client.get("/reports/import/", HTTP_ACCEPT_LANGUAGE=language).content.decode()


def test_the_column_list_is_sentence_case_and_lists_the_customer_columns_too(world: World) -> None:
    """The English list read "external id *: 工单编号 / …" (labels in lower case, as they are used inside sentences),
    and only the work-order columns were listed, also for a supervisor about to import customers."""
    html = _page(world, "supervisor", "en")
    columns = html[html.index('id="import-columns"'):html.index("</details>", html.index('id="import-columns"'))]
    assert "<strong>External id</strong> *: 工单编号" in columns and "<strong>external id</strong>" not in columns
    assert "<strong>Home region</strong>: 归属地市" in columns
    assert "<strong>Mobile number</strong> *: 手机号码 / 用户号码 / 号码" in columns  # the customers' synonyms
    assert "<strong>外部编号</strong> *: 工单编号" in _page(world, "supervisor", "zh-hans")
    agent = _page(world, "agent", "en")  # work orders only
    assert "<strong>External id</strong>" in agent and "Home region" not in agent


def test_the_mapping_form_labels_are_sentence_case(world: World) -> None:
    client = Client()
    client.force_login(world.users["agent"])
    upload = io.BytesIO("工单编号,受理时间\nA1,2026-10-05 09:30\n".encode())
    upload.name = "legacy.csv"
    html = client.post("/reports/import/", {"kind": "tickets", "file": upload}, HTTP_ACCEPT_LANGUAGE="en").content
    assert '<label for="map-external_id">External id</label>' in html.decode()


def test_an_import_job_s_state_reads_as_a_heading_in_english(world: World) -> None:
    """The background import's page was headed "finished" / "failed" (the state labels are lower case), and the
    import page's list of recent jobs said so too."""
    from loopdesk.reports.models import ImportJob

    job = ImportJob.objects.create(kind="tickets", dry_run=True, filename="t.csv", file_key="k", token="t",
                                   created_by=world.users["agent"], state=ImportJob.State.DONE,
                                   result={"rows": 0, "valid": 0, "created": 0, "skipped": 0, "errors": []})
    client = Client()
    client.force_login(world.users["agent"])
    page = client.get(f"/reports/import/jobs/{job.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<h2>Finished</h2>" in page
    assert "<td>Finished</td>" in _page(world, "agent", "en")
