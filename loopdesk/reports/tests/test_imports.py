"""Importing legacy work orders and customers: encodings, mapping, dry run, row errors, all-or-nothing, idempotence."""

from __future__ import annotations

import codecs
import datetime as dt
import io

import pytest
from django.utils import translation
from openpyxl import Workbook

from loopdesk.conftest import T0, World
from loopdesk.core.errors import PermissionDeniedError
from loopdesk.customers.models import Customer
from loopdesk.reports.imports import (
    TICKET_FIELDS,
    ImportResult,
    detect_encoding,
    import_customers,
    import_tickets,
)
from loopdesk.reports.models import ReportFact
from loopdesk.sla.calendars import SHANGHAI
from loopdesk.tickets.models import ExternalRef, Ticket, TicketEvent, TicketLink

HEADER = "工单编号,受理时间,手机号码,服务类型,投诉类目,受理渠道,投诉内容\n"
GOOD = [
    "EOMS-1,2026-10-05 09:30,13900000001,投诉,基础通信>信号覆盖>室内无信号,10086热线,家里没信号\n",
    "EOMS-2,2026/10/06 10:00,139 0000 0002,咨询,话费争议,营业厅,询问套餐\n",
]


def _csv(lines: list[str], encoding: str = "utf-8") -> io.BytesIO:
    return io.BytesIO((HEADER + "".join(lines)).encode(encoding))


# Validating first, then writing; or validating in a forked process while this one writes (`_ValidatingChild`).
MODES = pytest.mark.parametrize("parallel", [False, True], ids=["validate-first", "validate-in-parallel"])


def _mode(result: ImportResult, parallel: bool) -> ImportResult:
    """The result, once checked to come from the asked mode (the forked validation reports its own time)."""
    assert ("validation (in parallel)" in result.seconds) is parallel, result.seconds
    return result


def test_gbk_file_imports(world: World) -> None:
    agent = world.user("agent")
    result = import_tickets(acting_user=agent, source=_csv(GOOD, "gbk"), name="legacy.csv", system="eoms", now=T0)
    assert result.encoding == "gb18030" and result.error_count == 0
    assert (result.created, result.applied) == (2, True)
    ticket = ExternalRef.objects.get(system="eoms", external_id="EOMS-1").ticket
    assert ticket.category == world.categories["indoor"] and ticket.channel == "hotline"
    assert ticket.created_at == dt.datetime(2026, 10, 5, 9, 30, tzinfo=SHANGHAI)
    assert TicketEvent.objects.filter(ticket=ticket, kind="create").exists()
    assert ReportFact.objects.filter(pk=ticket.pk).exists()  # counted in the KPIs (folded by the import)
    assert Customer.objects.filter(msisdn="13900000002").exists()


@MODES
def test_importing_the_same_file_again_creates_nothing(world: World, parallel: bool) -> None:
    from loopdesk.reports.models import ImportRun

    agent = world.user("agent")
    import_tickets(acting_user=agent, source=_csv(GOOD), system="eoms", now=T0, parallel=parallel)
    again = _mode(import_tickets(acting_user=agent, source=_csv(GOOD), system="eoms", now=T0, parallel=parallel),
                  parallel)
    assert (again.created, again.skipped, again.valid, again.applied) == (0, 2, 0, False)
    assert Ticket.objects.count() == 2 and ImportRun.objects.count() == 1


def test_dry_run_reports_and_writes_nothing(world: World) -> None:
    result = import_tickets(acting_user=world.user("agent"), source=_csv(GOOD), dry_run=True, now=T0)
    assert (result.valid, result.created, result.applied) == (2, 0, False)
    assert Ticket.objects.count() == 0


@MODES
def test_one_bad_row_and_nothing_is_imported_with_errors_per_row_in_chinese(world: World, parallel: bool) -> None:
    bad = [
        "EOMS-3,昨天,13900000003,投诉,不存在的类目,10086热线,内容\n",
        "EOMS-1,2026-10-07 08:00,12345,表扬,其它,飞鸽传书,\n",
    ]
    with translation.override("zh-hans"):
        result = _mode(import_tickets(acting_user=world.user("agent"), source=_csv(GOOD + bad), now=T0,
                                      parallel=parallel, batch_size=1), parallel)
    assert Ticket.objects.count() == 0 and not result.applied and result.created == 0
    by_line = {}
    for e in result.errors:
        by_line.setdefault(e.row, []).append(e.column)
    assert sorted(by_line) == [4, 5]
    with translation.override("zh-hans"):
        label = {name: str(TICKET_FIELDS[name][0]) for name in TICKET_FIELDS}
    assert set(by_line[4]) == {label["created_at"], label["category"]}
    assert set(by_line[5]) == {label[n] for n in ("external_id", "msisdn", "contact_type", "channel", "description")}
    assert label["category"] == "类目"
    duplicate = next(e.message for e in result.errors if e.row == 5 and e.column == label["external_id"])
    assert "EOMS-1" in duplicate and "2" in duplicate and "行" in duplicate  # "also in line 2", in Chinese


@MODES
def test_partial_import_keeps_the_good_rows_when_asked(world: World, parallel: bool) -> None:
    bad = ["EOMS-9,2026-10-07 08:00,13900000009,投诉,不存在的类目,10086热线,内容\n"]
    result = _mode(import_tickets(acting_user=world.user("agent"), source=_csv(bad + GOOD), all_or_nothing=False,
                                  now=T0, parallel=parallel, batch_size=1), parallel)
    assert (result.rows, result.valid, result.created, result.error_count, result.applied) == (3, 2, 2, 1, True)
    assert [e.row for e in result.errors] == [2]
    assert Ticket.objects.count() == 2


def test_missing_columns_and_column_mapping(world: World) -> None:
    data = io.BytesIO("编号,时间,号码,类型,分类,来源渠道,说明\nX1,2026-10-05 09:30,13900000001,投诉,其它,短信,内容\n"
                      .encode())
    result = import_tickets(acting_user=world.user("agent"), source=data, dry_run=True, now=T0)
    assert result.error_count >= 5 and all(e.row == 1 for e in result.errors)
    mapping = {"external_id": "编号", "created_at": "时间", "msisdn": "号码", "contact_type": "类型",
               "category": "分类", "channel": "来源渠道", "description": "说明"}
    result = import_tickets(acting_user=world.user("agent"), source=data, mapping=mapping, now=T0)
    assert result.created == 1


def test_xlsx_with_real_dates(world: World) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER.strip().split(","))
    sheet.append(["X-7", dt.datetime(2026, 10, 5, 9, 30), 13900000007, "故障申告", "OTHER", "短信", "断网"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = import_tickets(acting_user=world.user("agent"), source=buffer, name="legacy.xlsx", now=T0)
    assert result.created == 1 and result.encoding == "xlsx"
    assert Ticket.objects.get().contact_type == "fault"


def test_only_staff_who_register_tickets_may_import(world: World) -> None:
    with pytest.raises(PermissionDeniedError):
        import_tickets(acting_user=world.user("specialist"), source=_csv(GOOD), now=T0)


def test_encoding_detection() -> None:
    assert detect_encoding("投诉".encode("gbk")) == "gb18030"
    assert detect_encoding("\ufeff投诉".encode()) == "utf-8-sig"
    assert detect_encoding("投诉".encode()) == "utf-8"


def test_customers_import_upserts_by_number(world: World) -> None:
    data = "手机号码,客户姓名,品牌,VIP等级,归属分公司,ARPU\n13900000001,李四,全球通,金卡,新会分公司,188.5\n"
    supervisor = world.user("supervisor")
    result = import_customers(acting_user=supervisor, source=io.BytesIO(data.encode("gbk")))
    assert result.created == 1
    customer = Customer.objects.get(msisdn="13900000001")
    assert (customer.brand, customer.vip_level, customer.home_branch) == ("gotone", "gold", world.units["branch_xh"])
    again = import_customers(acting_user=supervisor, source=io.BytesIO(data.encode("gbk")))
    assert (again.created, again.updated, again.skipped) == (0, 0, 1)
    bad = "手机号码,品牌\n1390000000x,小灵通\n"
    result = import_customers(acting_user=supervisor, source=io.BytesIO(bad.encode()))
    assert {e.column for e in result.errors} == {"mobile number", "brand"} or len(result.errors) == 2
    assert Customer.objects.count() == 1


def test_a_customer_import_is_counted_at_once_in_complaints_per_10k_customers(world: World) -> None:
    """The customer counts behind 'complaints per 10,000 customers' are cached; an import makes them count again."""
    from loopdesk.reports import measures

    supervisor = world.user("supervisor")
    before = measures.customers_in_scope(supervisor, {})
    assert measures.customers_in_scope(supervisor, {}) == before  # cached
    data = "手机号码,客户姓名,品牌,归属分公司\n13900000001,李四,全球通,新会分公司\n13900000002,王五,神州行,新会分公司\n"
    assert import_customers(acting_user=supervisor, source=io.BytesIO(data.encode())).created == 2
    assert measures.customers_in_scope(supervisor, {}) == before + 2
    gotone = measures.customers_in_scope(supervisor, {"brand": "gotone"})
    update = "手机号码,客户姓名,品牌,归属分公司\n13900000002,王五,全球通,新会分公司\n"
    assert import_customers(acting_user=supervisor, source=io.BytesIO(update.encode())).updated == 1
    assert measures.customers_in_scope(supervisor, {"brand": "gotone"}) == gotone + 1


BULK_HEADER = "工单编号,受理时间,手机号码,服务类型,投诉类目,受理渠道,投诉内容,工单状态,结案时间,处理结果\n"


def _legacy_rows(prefix: str, first_digit: str) -> list[str]:
    """Open and closed tickets, a repeat complaint (same number and top category within 30 days), a consultation
    closed at once, awkward text (tab, backslash, quotes, a line break inside a quoted cell)."""
    a, b = f"13{first_digit}00000011", f"13{first_digit}00000012"
    return [
        f"{prefix}-1,2026-10-05 09:30,{a},投诉,基础通信>信号覆盖>室内无信号,10086热线,家里没信号,,,\n",
        f"{prefix}-2,2026-10-07 10:00,{a},投诉,基础通信>信号覆盖>室内无信号,营业厅,还是没信号,已结案,"
        f"2026-10-09 16:00,已优化基站\n",
        f"{prefix}-3,2026-10-08 11:15,{b},咨询,话费争议,10086热线,\"询问\t套餐 C:\\路径 \"\"引号\"\"\n第二行\",结案,"
        f"2026-10-08 11:20,当场解答\n",
        f"{prefix}-4,2026-11-01 08:00,{b},故障,基础通信>信号覆盖>室内无信号,10086热线,无法上网,处理中,,\n",
    ]


COMPARED = [
    "province", "region", "contact_type", "category_id", "category_root_id", "channel", "priority", "tier",
    "branch_id", "title", "description", "first_responder_id", "first_responder_unit_id", "handler_unit_id",
    "handler_user_id", "dispatcher_unit_id", "status", "is_open", "sla_policy_id", "committed_at",
    "requested_resolution_at", "first_response_due_at", "first_responded_at", "cycle_started_at", "hop_started_at",
    "hop_due_at", "overtime_at", "problem_at", "resolution_due_at", "due_at", "sla_paused", "is_overtime",
    "is_problem", "is_repeat", "replied_at", "answered_at", "closed_at", "resolution", "callback_verdict",
    "reject_reason", "reopen_count", "dispatch_count", "return_count", "last_event_seq", "created_at",
]


def _imported(system: str) -> list[dict]:
    tickets = Ticket.objects.filter(external_refs__system=system).order_by("external_refs__external_id")
    out = []
    for t in tickets:
        row = {name: getattr(t, name) for name in COMPARED}
        row["events"] = [(e.seq, e.kind, e.from_status, e.to_status, e.to_unit_id, e.created_at)
                         for e in TicketEvent.objects.filter(ticket=t).order_by("seq")]
        # Historical tickets get no satisfaction survey (no SMS about a legacy ticket): survey fields apart.
        row["fact"] = {k: v for k, v in ReportFact.objects.filter(pk=t.pk).values().get().items()
                       if k not in ("ticket_id", "survey_day", "survey_score")}
        out.append(row)
    return out


@MODES
def test_the_bulk_path_stores_what_the_services_store(world: World, parallel: bool) -> None:
    from loopdesk.reports import rollups

    agent = world.user("agent")
    now = T0 + dt.timedelta(days=30)
    bulk = _mode(import_tickets(acting_user=agent, source=io.BytesIO((BULK_HEADER + "".join(_legacy_rows("B", "7")))
                                                                       .encode("gbk")),
                                name="bulk.csv", system="bulk", now=now, parallel=parallel), parallel)
    # Not 138...: `world.customer()` hands out 13800000001, 13800000002, ... in each test process.
    slow = import_tickets(acting_user=agent, source=io.BytesIO((BULK_HEADER + "".join(_legacy_rows("S", "9")))
                                                                 .encode("utf-8")),
                          name="slow.csv", system="slow", now=now, bulk=False)
    assert (bulk.error_count, bulk.created, slow.error_count, slow.created) == (0, 4, 0, 4), bulk.errors
    rollups.fold_pending()
    by_bulk, by_services = _imported("bulk"), _imported("slow")
    assert [t["status"] for t in by_bulk] == ["new", "closed", "closed", "new"]
    assert [t["is_repeat"] for t in by_bulk] == [False, True, False, False]
    assert by_bulk[2]["description"] == "询问\t套餐 C:\\路径 \"引号\"\n第二行"
    for mine, reference in zip(by_bulk, by_services, strict=True):
        assert mine == reference
    # The customers the bulk path created (by COPY on PostgreSQL) are the records the services create.
    fields = [f.attname for f in Customer._meta.concrete_fields if f.attname not in ("id", "msisdn", "created_at")]
    made = [list(Customer.objects.filter(msisdn__startswith=f"13{digit}").order_by("msisdn").values_list(*fields))
            for digit in ("7", "9")]
    assert len(made[0]) == 2 and made[0] == made[1], made
    assert all(c.created_at > T0 for c in Customer.objects.all())
    # Numbers continue the day's sequence: the next ticket registered by hand on that day gets a fresh one.
    numbers = set(Ticket.objects.values_list("number", flat=True))
    assert len(numbers) == Ticket.objects.count() == 8
    from loopdesk.tickets import services as s

    later = s.do_create_ticket(acting_user=agent, now=dt.datetime(2026, 10, 5, 12, 0, tzinfo=SHANGHAI),
                               **world.ticket_kwargs())
    assert later.number not in numbers
    rollups.fold_pending()
    assert rollups.check().ok


@MODES
def test_bulk_import_is_all_or_nothing_and_idempotent(world: World, parallel: bool) -> None:
    agent = world.user("agent")
    now = T0 + dt.timedelta(days=30)
    rows = _legacy_rows("X", "6")
    bad = [*rows, "X-5,2026-10-05 09:30,13600000019,投诉,基础通信,10086热线,内容,已结案,,\n"]
    with translation.override("en"):
        result = _mode(import_tickets(acting_user=agent, source=io.BytesIO((BULK_HEADER + "".join(bad)).encode()),
                                      name="bad.csv", system="x", now=now, batch_size=1, parallel=parallel), parallel)
    # The bad row is the last: in parallel, the first four were written before it was seen, then rolled back.
    assert not result.applied and Ticket.objects.count() == 0 and not Customer.objects.exists()
    # The file's line (the quoted cell of X-3 spans two): no closing time, no resolution for a closed ticket.
    assert [(e.row, e.column) for e in result.errors] == [(7, "closed at"), (7, "resolution")]
    result = _mode(import_tickets(acting_user=agent, source=io.BytesIO((BULK_HEADER + "".join(rows)).encode()),
                                  name="good.csv", system="x", now=now, batch_size=1, parallel=parallel),
                   parallel)  # a batch per row
    assert (result.created, result.applied) == (4, True)
    # The repeat is found across batches (the earlier batch is in the database, same transaction).
    assert list(Ticket.objects.order_by("created_at").values_list("is_repeat", flat=True)) == [
        False, True, False, False]
    again = import_tickets(acting_user=agent, source=io.BytesIO((BULK_HEADER + "".join(rows)).encode()),
                           name="good.csv", system="x", now=now, parallel=parallel)
    assert (again.created, again.skipped) == (0, 4)
    assert Ticket.objects.count() == 4
    from loopdesk.reports import rollups

    assert rollups.check().ok  # folded by the import itself


@MODES
@pytest.mark.parametrize("batch_size", [1, 2, 4])
def test_repeats_and_customers_are_found_whatever_the_batches(world: World, batch_size: int, parallel: bool) -> None:
    """An earlier complaint and a customer created by the import are found whether they are in the same batch
    (batch size 4), the previous one (size 2) or an older one (size 1: the repeat and each customer's second
    ticket come two batches later), and nothing is created twice."""
    agent = world.user("agent")
    one, two, three, four = _legacy_rows("Q", "5")
    result = _mode(import_tickets(acting_user=agent, source=io.BytesIO((BULK_HEADER + one + three + two + four)
                                                                       .encode()),
                                  name="q.csv", system="q", now=T0 + dt.timedelta(days=30), batch_size=batch_size,
                                  parallel=parallel), parallel)
    assert (result.created, result.error_count) == (4, 0), result.errors
    tickets = {t.external_refs.get().external_id: t for t in Ticket.objects.all()}
    assert {k: t.is_repeat for k, t in tickets.items()} == {"Q-1": False, "Q-2": True, "Q-3": False, "Q-4": False}
    link = TicketLink.objects.get()
    assert (link.from_ticket_id, link.to_ticket_id, link.kind) == (tickets["Q-2"].pk, tickets["Q-1"].pk, "repeat")
    assert Customer.objects.filter(msisdn__startswith="135").count() == 2  # one record per number
    assert tickets["Q-1"].customer_id == tickets["Q-2"].customer_id != tickets["Q-3"].customer_id
    from loopdesk.reports import rollups

    assert rollups.check().ok


@pytest.mark.django_db(transaction=True)  # commits: the row-by-row checks run at commit
@pytest.mark.parametrize("by_batch", [True, False])
@MODES
def test_a_category_gone_before_the_write_fails_the_import_and_stores_nothing(world: World, settings,  # type: ignore[no-untyped-def]
                                                                               by_batch: bool, parallel: bool) -> None:
    """Foreign keys hold on both paths of the bulk write: checked a batch at a time (PostgreSQL, the setting on)
    or row by row at commit. A category deleted after the validation pass (or, validating in parallel, while it
    goes on) fails the whole import, and a validating process is not left behind."""
    import multiprocessing

    from django.db import IntegrityError, connection
    from django.db.models.signals import post_save

    from loopdesk.reports.models import ImportRun
    from loopdesk.tickets.models import Category

    settings.LOOPDESK_BULK_REFERENCE_CHECKS = by_batch
    agent = world.user("agent")
    leaf = Category.objects.get(name="室内无信号")

    def meanwhile(sender: object, instance: ImportRun, created: bool, **kwargs: object) -> None:
        if created and instance.filename == "gone.csv":  # inside the write's transaction, before the first batch
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {Category._meta.db_table} WHERE id = %s", [leaf.pk])

    post_save.connect(meanwhile, sender=ImportRun)
    try:
        with pytest.raises(IntegrityError) as raised:
            import_tickets(acting_user=agent, source=io.BytesIO((BULK_HEADER + "".join(_legacy_rows("G", "5")))
                                                                .encode()),
                           name="gone.csv", system="g", now=T0 + dt.timedelta(days=30), parallel=parallel,
                           batch_size=1)
    finally:
        post_save.disconnect(meanwhile, sender=ImportRun)
    if by_batch and connection.vendor == "postgresql":
        assert f"(category_id)=({leaf.pk})" in str(raised.value), raised.value
    assert Ticket.objects.count() == 0 and not ExternalRef.objects.exists() and not ImportRun.objects.exists()
    assert Category.objects.filter(pk=leaf.pk).exists()
    assert multiprocessing.active_children() == []


def test_the_bulk_write_checks_references_by_batch_on_postgresql_only(world: World, settings) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection

    from loopdesk.reports import rollups

    agent = world.user("agent")
    now = T0 + dt.timedelta(days=30)
    results = []
    for by_batch, prefix, digit in ((True, "R", "4"), (False, "O", "3")):
        settings.LOOPDESK_BULK_REFERENCE_CHECKS = by_batch
        results.append(import_tickets(acting_user=agent, source=io.BytesIO(
            (BULK_HEADER + "".join(_legacy_rows(prefix, digit))).encode()), name=f"{prefix}.csv", system=prefix,
            now=now, batch_size=2))
    assert [r.created for r in results] == [4, 4]
    assert ("references" in results[0].seconds) is (connection.vendor == "postgresql")
    assert "references" not in results[1].seconds
    assert _imported("R") == _imported("O")  # the same rows either way
    assert rollups.check().ok


@pytest.mark.parametrize(("bulk", "parallel"), [(True, False), (False, False), (True, True)])
def test_rows_another_import_wrote_after_validation_are_skipped(world: World, bulk: bool, parallel: bool) -> None:
    """The validated rows are written from the spill file; their external ids are looked up again inside the
    write's transaction. Another import committing Y-2 between the validation and the write (here: when the
    write's ImportRun row is saved, a real ExternalRef row) makes Y-2 skipped, not imported twice or failing."""
    from django.db.models.signals import post_save

    from loopdesk.reports.models import ImportRun

    agent = world.user("agent")
    now = T0 + dt.timedelta(days=30)
    other = import_tickets(acting_user=agent, source=io.BytesIO((BULK_HEADER + _legacy_rows("Z", "5")[0]).encode()),
                           name="other.csv", system="elsewhere", now=now)
    assert other.created == 1
    elsewhere = ExternalRef.objects.get(system="elsewhere").ticket

    def meanwhile(sender: object, instance: ImportRun, created: bool, **kwargs: object) -> None:
        if created and instance.filename == "late.csv":
            ExternalRef.objects.create(ticket=elsewhere, system="y", external_id="Y-2")

    post_save.connect(meanwhile, sender=ImportRun)
    try:
        result = import_tickets(acting_user=agent, source=io.BytesIO((BULK_HEADER + "".join(_legacy_rows("Y", "4")))
                                                                     .encode()),
                                name="late.csv", system="y", now=now, batch_size=2, bulk=bulk, parallel=parallel)
    finally:
        post_save.disconnect(meanwhile, sender=ImportRun)
    assert (result.created, result.skipped, result.valid, result.applied) == (3, 1, 3, True), result.errors
    assert sorted(ExternalRef.objects.filter(system="y").values_list("external_id", flat=True)) == [
        "Y-1", "Y-2", "Y-3", "Y-4"]
    assert Ticket.objects.count() == 4
    from loopdesk.reports import rollups

    rollups.fold_pending()
    assert rollups.check().ok


# --- files that cannot be read: reported on their line, nothing imported, never an exception -------------------


def _errors(result) -> list[tuple[int, str]]:
    return [(e.row, e.message) for e in result.errors]


@pytest.mark.parametrize("bom_encoding", ["utf-16-le", "utf-16-be"])
def test_excel_unicode_text_utf16_with_tabs_imports(world: World, bom_encoding: str) -> None:
    """Excel's "Unicode text": UTF-16 with a BOM, tab-separated, CRLF; a quoted cell with a tab and a line break."""
    bom = "\ufeff".encode(bom_encoding)
    lines = [HEADER.strip().replace(",", "\t"), *(g.strip().replace(",", "\t") for g in GOOD),
             'EOMS-3\t2026-10-07 08:00\t13900000003\t投诉\t其它\t短信\t"第一行\t制表\r\n第二行"']
    data = io.BytesIO(bom + ("\r\n".join(lines) + "\r\n").encode(bom_encoding))
    result = import_tickets(acting_user=world.user("agent"), source=data, name="unicode.txt", system="u", now=T0)
    assert (result.encoding, result.error_count, result.created) == (bom_encoding, 0, 3), result.errors
    assert ExternalRef.objects.get(system="u", external_id="EOMS-3").ticket.description == "第一行\t制表\r\n第二行"
    assert ExternalRef.objects.get(system="u", external_id="EOMS-1").ticket.channel == "hotline"


def test_utf16_with_a_broken_character_names_its_line(world: World) -> None:
    text = HEADER + "".join(GOOD) + "EOMS-3,2026-10-07 08:00,13900000003,投诉,其它,短信,内容\n"
    raw = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    line4 = raw.index("EOMS-3".encode("utf-16-le"))
    raw = raw[:line4] + b"\x00\xdc" + raw[line4:]  # a lone low surrogate at the start of line 4
    result = import_tickets(acting_user=world.user("agent"), source=io.BytesIO(raw), now=T0, all_or_nothing=False)
    assert [e.row for e in result.errors] == [4] and "UTF-16" in result.errors[0].message
    assert not result.applied and Ticket.objects.count() == 0


@MODES
@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
@pytest.mark.parametrize("all_or_nothing", [True, False])
def test_invalid_bytes_are_reported_on_their_line_in_chinese(world: World, encoding: str,
                                                             all_or_nothing: bool, parallel: bool) -> None:
    raw = (HEADER + "".join(GOOD)).encode(encoding) + "EOMS-3,2026-10-07 08:00,13900000003,投诉,其它,短信,坏".encode(
        encoding) + b"\x80\xff\n" + "EOMS-4,2026-10-07 09:00,13900000004,投诉,其它,短信,好\n".encode(encoding)
    with translation.override("zh-hans"):
        # A batch a row: in parallel the good rows are written before the bad bytes are read, then rolled back.
        result = import_tickets(acting_user=world.user("agent"), source=io.BytesIO(raw), name="bad.csv", now=T0,
                                all_or_nothing=all_or_nothing, parallel=parallel, batch_size=1)
    assert [e.row for e in result.errors] == [4], result.errors
    _mode(result, parallel)
    message = result.errors[0].message
    assert "80" in message and "GBK" in message and "另存为" in message  # Chinese: save it again as ...
    assert not result.applied and result.created == 0 and Ticket.objects.count() == 0


def test_utf8_with_bad_bytes_after_the_detection_sample(world: World) -> None:
    """The first MB decodes as UTF-8, so the file is read as UTF-8; the bad bytes come at line 124."""
    text = "信" * 3000  # 9,000 bytes a row: 120 rows are more than the 1 MB sample
    rows = [f"L-{i},2026-10-05 09:30,13900000001,投诉,其它,短信,{text}\n" for i in range(122)]
    raw = (HEADER + "".join(rows)).encode() + "L-x,2026-10-05 09:30,13900000001,投诉,其它,短信,".encode("gbk") + \
        "坏".encode("gbk") + b"\n"
    assert len(raw) > (1 << 20) and "坏".encode("gbk")[0] >= 0x80
    result = import_tickets(acting_user=world.user("agent"), source=io.BytesIO(raw), name="big.csv", now=T0,
                            all_or_nothing=False)
    assert result.encoding == "utf-8"
    assert [e.row for e in result.errors] == [124] and "UTF-8" in result.errors[0].message
    assert not result.applied and Ticket.objects.count() == 0


def test_over_long_csv_field_is_reported_on_its_line(world: World) -> None:
    """An unclosed quotation mark swallows the rest of the file into one cell, past the csv module's limit."""
    rest = "".join(f"N-{i},2026-10-05 09:30,13900000001,投诉,其它,短信,{'话' * 200}\n" for i in range(1000))
    raw = (HEADER + GOOD[0] + 'EOMS-2,2026-10-06 10:00,13900000002,投诉,其它,短信,"没有闭合的引号\n' + rest).encode()
    with translation.override("en"):
        result = import_tickets(acting_user=world.user("agent"), source=io.BytesIO(raw), now=T0, all_or_nothing=False)
    assert len(result.errors) == 1 and "quotation mark" in result.errors[0].message
    assert 3 < result.errors[0].row <= 1003
    assert not result.applied and Ticket.objects.count() == 0


def _xlsx_bytes() -> bytes:
    workbook = Workbook()
    workbook.active.append(HEADER.strip().split(","))
    workbook.active.append(["X-7", dt.datetime(2026, 10, 5, 9, 30), 13900000007, "故障申告", "OTHER", "短信", "断网"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("raw", [
    pytest.param(_xlsx_bytes()[:2000], id="truncated-xlsx"),  # BadZipFile
    pytest.param((HEADER + "".join(GOOD)).encode(), id="csv-named-xlsx"),
    pytest.param(b"PK\x03\x04" + b"\x00" * 200, id="zip-header-only"),
])
def test_a_corrupt_xlsx_is_reported_not_raised(world: World, raw: bytes) -> None:
    with translation.override("zh-hans"):
        result = import_tickets(acting_user=world.user("agent"), source=io.BytesIO(raw), name="legacy.xlsx", now=T0,
                                all_or_nothing=False)
    assert [e.row for e in result.errors] == [1] and "XLSX" in result.errors[0].message
    assert "工作簿" in result.errors[0].message
    assert not result.applied and Ticket.objects.count() == 0


def test_an_excel_97_workbook_is_reported(world: World) -> None:
    raw = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
    result = import_tickets(acting_user=world.user("agent"), source=io.BytesIO(raw), name="legacy.xls", now=T0)
    assert [e.row for e in result.errors] == [1] and ".xls" in result.errors[0].message
    assert Ticket.objects.count() == 0


def test_customers_file_with_invalid_bytes_imports_nothing(world: World) -> None:
    raw = "手机号码,客户姓名\n13900000001,李四\n".encode() + b"13900000002,\x80\xff\n"
    result = import_customers(acting_user=world.user("supervisor"), source=io.BytesIO(raw), all_or_nothing=False)
    assert [e.row for e in result.errors] == [3] and not result.applied
    assert Customer.objects.count() == 0
    corrupt = import_customers(acting_user=world.user("supervisor"), source=io.BytesIO(_xlsx_bytes()[:1500]),
                               name="c.xlsx")
    assert [e.row for e in corrupt.errors] == [1] and Customer.objects.count() == 0


@pytest.mark.postgres
def test_the_import_adds_to_each_rollup_in_the_folds_lock_order(world: World) -> None:
    """The import's one upsert per rollup table locks rows in the order `rollups.apply_delta` does (Python's
    text order of the key parts), so an import and a fold cannot deadlock: ids 9 < 10 < 100 as numbers, but
    "10" < "100" < "9" as text."""
    from django.db import connection

    from loopdesk.reports import rollups
    from loopdesk.reports.bulkimport import CubeDeltas

    delta: dict[tuple, dict[str, int]] = {}
    for n, (day, branch, category, tier) in enumerate([
        (dt.date(2026, 10, 31), 9, 2, "vip"), (dt.date(2026, 11, 1), 10, 10, "regular"),
        (dt.date(2026, 9, 30), 100, 2, "vip"), (dt.date(2026, 11, 1), 9, 100, "gold"),
        (dt.date(2026, 10, 31), 10, 9, "regular"),
    ]):
        key = (day, "GD", "JM" if n % 2 else "ZH", branch, 0, category, "complaint", "hotline", tier, "mzone",
               category // 10)
        delta[key] = {"created": 1 + n}
    deltas = CubeDeltas()
    deltas.add(delta)
    with connection.cursor() as cursor:
        for cube in rollups.CUBES:
            keys, order = CubeDeltas.key_sql(cube)
            cursor.execute(f"SELECT {', '.join(keys)} FROM {CubeDeltas.TEMP} "
                           f"GROUP BY {', '.join(keys)} ORDER BY {order}")
            assert [tuple(row) for row in cursor.fetchall()] == sorted(rollups.project(cube, delta),
                                                                       key=rollups._sort_key), cube.table
    deltas.finish()
    assert rollups.stored_rollups() == rollups.project(rollups.DAILY, delta)


@pytest.mark.parametrize(("threads", "minimum", "expected"), [(1, 0, True), (1, 1 << 30, False), (2, 0, False)])
def test_a_large_file_is_validated_in_parallel_when_this_process_runs_one_thread(
        world: World, tmp_path, monkeypatch, threads: int, minimum: int, expected: bool) -> None:  # type: ignore[no-untyped-def]
    """By default (`parallel=None`): a file of PARALLEL_MIN_BYTES or more, in a process with one thread only;
    an in-memory upload never (it has no size on disk to go by). The rows are the same either way."""
    from loopdesk.reports import imports

    monkeypatch.setattr(imports, "PARALLEL_MIN_BYTES", minimum)
    monkeypatch.setattr(imports.threading, "active_count", lambda: threads)
    path = tmp_path / "legacy.csv"
    path.write_bytes((BULK_HEADER + "".join(_legacy_rows("P", "3"))).encode("gbk"))
    result = _mode(import_tickets(acting_user=world.user("agent"), source=path, system="p",
                                  now=T0 + dt.timedelta(days=30)), expected)
    assert (result.created, result.error_count) == (4, 0), result.errors
    other_numbers = (BULK_HEADER + "".join(_legacy_rows("P", "2"))).encode("gbk")  # else repeats of the above
    in_memory = import_tickets(acting_user=world.user("agent"), source=io.BytesIO(other_numbers), system="p2",
                               now=T0 + dt.timedelta(days=30))
    _mode(in_memory, False)
    assert _imported("p") == _imported("p2")


def test_times_with_fractional_seconds_are_read(world: World) -> None:
    """What database exports write (2026-10-05 09:30:15.123, ISO with a T): read to the second, not refused."""
    data = io.BytesIO((BULK_HEADER
                       + "F-1,2026-10-05 09:30:15.123,13900000001,投诉,其它,10086热线,内容,已结案,"
                       "2026-10-06 10:00:00.5,已处理\n"
                       + "F-2,2026/10/05 09:31:02.000000,13900000002,投诉,其它,10086热线,内容,,,\n"
                       + "F-3,2026-10-05T09:32:00.25,13900000003,投诉,其它,10086热线,内容,,,\n").encode())
    result = import_tickets(acting_user=world.user("agent"), source=data, system="eoms", now=T0)
    assert result.error_count == 0, result.errors
    assert result.created == 3
    first = ExternalRef.objects.get(external_id="F-1").ticket
    assert first.created_at == dt.datetime(2026, 10, 5, 9, 30, 15, tzinfo=SHANGHAI)
    assert first.closed_at == dt.datetime(2026, 10, 6, 10, 0, tzinfo=SHANGHAI)
    assert ExternalRef.objects.get(external_id="F-2").ticket.created_at == dt.datetime(2026, 10, 5, 9, 31, 2,
                                                                                          tzinfo=SHANGHAI)
    bad = io.BytesIO((BULK_HEADER + "F-4,2026-10-05 09:30:15.12x,13900000004,投诉,其它,10086热线,内容,,,\n")
                     .encode())
    refused = import_tickets(acting_user=world.user("agent"), source=bad, system="eoms", dry_run=True, now=T0)
    assert [e.row for e in refused.errors] == [2]


def test_an_open_status_with_a_closing_time_is_a_row_error(world: World) -> None:
    """处理中 with a 结案时间: one of the two is wrong; the row is reported, not imported open with the time dropped."""
    data = io.BytesIO((BULK_HEADER + "S-1,2026-10-05 09:30,13900000001,投诉,其它,10086热线,内容,处理中,"
                       "2026-10-06 10:00,已处理\n").encode())
    with translation.override("zh-hans"):
        result = import_tickets(acting_user=world.user("agent"), source=data, system="eoms", now=T0)
        closed_at = str(TICKET_FIELDS["closed_at"][0])
        status = str(TICKET_FIELDS["status"][0])
    assert not result.applied and Ticket.objects.count() == 0
    assert [(e.row, e.column) for e in result.errors] == [(2, closed_at)] or \
        [(e.row, e.column) for e in result.errors] == [(2, status)]
    assert any(ch > "\u4e00" for ch in result.errors[0].message)  # in the user's language


def test_categories_by_english_name_and_with_stray_spaces(world: World) -> None:
    """A category by its English name or path (indoor, basic > coverage > indoor), case and spaces as typed, or a
    Chinese path with spaces around the separators; an English name two categories share is still refused."""
    world.categories["indoor"].name_en = "No indoor signal"
    world.categories["indoor"].save(update_fields=["name_en"])
    rows = [
        "C-1,2026-10-05 09:30,13900000001,投诉, no indoor signal ,10086热线,内容\n",
        "C-2,2026-10-05 09:31,13900000002,投诉,basic > coverage > No Indoor Signal,10086热线,内容\n",
        "C-3,2026-10-05 09:32,13900000003,投诉,基础通信 > 信号覆盖 > 室内无信号,10086热线,内容\n",
        "C-4,2026-10-05 09:33,13900000004,投诉,  话费争议  ,10086热线,内容\n",
    ]
    result = import_tickets(acting_user=world.user("agent"), source=_csv(rows), system="eoms", now=T0)
    assert result.error_count == 0, result.errors
    assert [ExternalRef.objects.get(external_id=f"C-{i}").ticket.category_id for i in range(1, 5)] == \
        [world.categories["indoor"].pk] * 3 + [world.categories["dispute"].pk]
    # Two subcategories with the same English name: by name alone it is ambiguous, by path it is not.
    for key in ("calls", "dispute"):
        world.categories[key].name_en = "Other issue"
        world.categories[key].save(update_fields=["name_en"])
    rows = ["C-5,2026-10-05 09:34,13900000005,投诉,other issue,10086热线,内容\n",
            "C-6,2026-10-05 09:35,13900000006,投诉,billing / Other Issue,10086热线,内容\n"]
    result = import_tickets(acting_user=world.user("agent"), source=_csv(rows), system="eoms", dry_run=True, now=T0)
    assert [e.row for e in result.errors] == [2]


def _customers(data: str, who: str, world: World, **kwargs) -> ImportResult:  # type: ignore[no-untyped-def]
    with translation.override("en"):
        return import_customers(acting_user=world.user(who), source=io.BytesIO(data.encode()), **kwargs)


def test_customer_regions_and_branches_are_checked(world: World) -> None:
    """An unknown region or branch, or a branch of another region than the row's, is a row error on that column;
    a branch alone gives the customer its region (and the region its province)."""
    data = ("手机号码,归属地市,归属分公司\n"
            "13900000001,XX,\n"            # unknown region
            "13900000002,,不存在的分公司\n"  # unknown branch
            "13900000003,ZH,BRANCH_XH\n"    # a Jiangmen branch with region Zhuhai
            "13900000004,jm,新会分公司\n")   # consistent (region in any case)
    result = _customers(data, "admin", world)
    assert [(e.row, e.column) for e in result.errors] == [(2, "home region"), (3, "home branch"),
                                                          (4, "home branch")]
    assert "XX" in result.errors[0].message and "ZH" in result.errors[2].message
    assert Customer.objects.count() == 0
    good = _customers("手机号码,归属分公司\n13900000005,BRANCH_XH\n", "admin", world)
    assert good.created == 1
    not_branches = _customers("手机号码,归属分公司\n13900000011,网络部\n13900000012,HALL_XH\n", "admin", world)
    assert [(e.row, e.column) for e in not_branches.errors] == [(2, "home branch"), (3, "home branch")]
    assert "网络部" in not_branches.errors[0].message
    by_name = _customers("手机号码,归属地市\n13900000006,江门\n13900000007,江门分公司\n13900000008,zh\n", "admin",
                         world)
    assert by_name.created == 3, by_name.errors
    assert [c.region for c in Customer.objects.filter(msisdn__in=["13900000006", "13900000007", "13900000008"])
            .order_by("msisdn")] == ["JM", "JM", "ZH"]
    customer = Customer.objects.get(msisdn="13900000005")
    assert (customer.region, customer.province, customer.home_branch) == ("JM", "GD", world.units["branch_xh"])


def test_customers_are_imported_into_the_importing_supervisors_own_region_only(world: World) -> None:
    """A Jiangmen supervisor cannot create or overwrite Zhuhai customers (nor move one there); an administrator can."""
    world.customer(msisdn="13900000009", region="ZH", name="珠海客户", home_branch=None)
    data = ("手机号码,客户姓名,归属地市\n"
            "13900000001,甲,ZH\n"   # another region
            "13900000009,乙,JM\n"   # a Zhuhai customer, moved into Jiangmen by the file
            "13900000002,丙,\n")    # the supervisor's region
    result = _customers(data, "supervisor", world)
    assert [(e.row, e.column) for e in result.errors] == [(2, "home region"), (3, "mobile number")]
    assert Customer.objects.get(msisdn="13900000009").name == "珠海客户" and Customer.objects.count() == 1
    partial = _customers(data, "supervisor", world, all_or_nothing=False)
    assert partial.created == 1 and Customer.objects.get(msisdn="13900000002").region == "JM"
    assert Customer.objects.get(msisdn="13900000009").name == "珠海客户"
    by_admin = _customers(data, "admin", world)
    assert by_admin.error_count == 0 and Customer.objects.get(msisdn="13900000001").region == "ZH"


def test_iso_times_with_an_offset_are_read_in_that_offset(world: World) -> None:
    """What other systems export (2026-10-05T01:30:00Z, ...+08:00): the same instant, not refused as not a date."""
    data = io.BytesIO((BULK_HEADER
                       + "Z-1,2026-10-05T01:30:00Z,13900000001,投诉,其它,10086热线,内容,,,\n"
                       + "Z-2,2026-10-05T09:31:00+08:00,13900000002,投诉,其它,10086热线,内容,,,\n"
                       + "Z-3,2026-10-05 09:32:00.5+08:00,13900000003,投诉,其它,10086热线,内容,,,\n"
                       + "Z-4,2026-10-05T09:33:00+25:00,13900000004,投诉,其它,10086热线,内容,,,\n").encode())
    result = import_tickets(acting_user=world.user("agent"), source=data, system="eoms", dry_run=True, now=T0)
    assert [e.row for e in result.errors] == [5]  # no such offset
    data.seek(0)
    data = io.BytesIO(b"".join(line for line in data.getvalue().splitlines(keepends=True) if b"Z-4" not in line))
    result = import_tickets(acting_user=world.user("agent"), source=data, system="eoms", now=T0)
    assert result.created == 3
    times = [ExternalRef.objects.get(external_id=f"Z-{i}").ticket.created_at for i in (1, 2, 3)]
    assert times == [dt.datetime(2026, 10, 5, 9, minute, tzinfo=SHANGHAI) for minute in (30, 31, 32)]


def test_a_customer_name_longer_than_the_field_is_a_row_error_not_cut(world: World) -> None:
    long_name = "欧阳" * 33  # 66 characters
    tickets = import_tickets(acting_user=world.user("agent"), source=io.BytesIO(
        ("工单编号,受理时间,手机号码,服务类型,投诉类目,受理渠道,投诉内容,客户姓名\n"
         f"N-1,2026-10-05 09:30,13900000001,投诉,其它,10086热线,内容,{long_name}\n").encode()), now=T0)
    customers = import_customers(acting_user=world.user("supervisor"),
                                 source=io.BytesIO(f"手机号码,客户姓名\n13900000002,{long_name}\n".encode()))
    with translation.override("zh-hans"):
        labels = (str(TICKET_FIELDS["customer_name"][0]), "客户姓名")  # not 名称 (the name of a thing)
    assert [(e.row, e.column) for e in tickets.errors] == [(2, labels[0])]
    assert [(e.row, e.column) for e in customers.errors] == [(2, labels[1])]
    assert "64" in tickets.errors[0].message and not Customer.objects.exists()


@MODES
def test_rows_with_errors_are_counted_as_rows_not_problems(world: World, parallel: bool) -> None:
    """A row with three problems is one row with errors (the report said "3 with errors" of 2 rows)."""
    from django.template.loader import render_to_string

    from loopdesk.reports.models import ImportRun

    bad = ["EOMS-3,昨天,12345,投诉,不存在的类目,10086热线,内容\n"]
    result = _mode(import_tickets(acting_user=world.user("agent"), source=_csv(GOOD + bad), now=T0, system="eoms",
                                  all_or_nothing=False, parallel=parallel, batch_size=1), parallel)
    assert (result.rows, result.valid, result.error_count, result.error_rows) == (3, 2, 3, 1)
    assert ImportRun.objects.get().errors == 1
    with translation.override("en"):
        html = render_to_string("reports/partials/import_result.html", {"result": result})
    assert "3 rows: 2 valid, 2 imported, 0 already imported earlier, 1 with errors." in html
    customers = import_customers(acting_user=world.user("supervisor"), source=io.BytesIO(
        "手机号码,品牌,VIP等级\n1390000000x,小灵通,铁卡\n13900000005,全球通,金卡\n".encode()), dry_run=True)
    assert (customers.rows, customers.valid, customers.error_count, customers.error_rows) == (2, 1, 3, 1)


def test_a_customer_updated_without_a_region_keeps_theirs(world: World) -> None:
    """A file of names only: a province supervisor updates the province's customers (no region of their own to
    default to), and nobody's customer is moved to the importing user's region."""
    from django.contrib.auth.models import Group

    from loopdesk.org.models import User

    world.customer(msisdn="13900000009", region="ZH", name="旧名", home_branch=None)
    province = User.objects.create_user(username="gd_supervisor", unit=world.units["gd"])
    province.groups.add(Group.objects.get_or_create(name="supervisor")[0])
    result = import_customers(acting_user=province, source=io.BytesIO("手机号码,客户姓名\n13900000009,新名\n".encode()))
    assert (result.error_count, result.updated) == (0, 1)
    assert Customer.objects.values_list("name", "region").get(msisdn="13900000009") == ("新名", "ZH")
    by_admin = _customers("手机号码,客户姓名\n13900000009,再改\n", "admin", world)  # a Jiangmen administrator
    assert by_admin.updated == 1 and Customer.objects.get(msisdn="13900000009").region == "ZH"
    new = import_customers(acting_user=province, source=io.BytesIO("手机号码,客户姓名\n13900000010,新客户\n".encode()))
    assert [e.column for e in new.errors] == ["归属地市"] or [e.column for e in new.errors] == ["home region"]


@MODES
def test_a_file_with_only_its_header_is_reported_not_a_silent_success(world: World, parallel: bool) -> None:
    for dry_run in (True, False):
        result = import_tickets(acting_user=world.user("agent"), source=_csv([]), now=T0, dry_run=dry_run,
                                parallel=parallel)
        assert (result.rows, result.applied, [e.row for e in result.errors]) == (0, False, [2])
    customers = import_customers(acting_user=world.user("supervisor"),
                                 source=io.BytesIO("手机号码,客户姓名\n".encode()))
    assert [e.row for e in customers.errors] == [2] and not customers.applied
    with translation.override("zh-hans"):
        result = import_tickets(acting_user=world.user("agent"), source=_csv([]), now=T0, dry_run=True)
    assert "没有数据行" in result.errors[0].message


def test_times_as_chinese_excel_exports_write_them_are_read(world: World) -> None:
    """Excel serial numbers (a time column formatted as a number: 46328.378... in an XLSX number cell or in the
    CSV), and 2026年11月2日 with seconds: read as those times, not refused as not a date."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER.strip().split(","))
    sheet.append(["XS-1", 46328.37847222222, 13900000001, "投诉", "OTHER", "短信", "断网"])  # 2026-11-02 09:05
    sheet.append(["XS-2", 46328, 13900000002, "投诉", "OTHER", "短信", "断网"])  # 2026-11-02
    buffer = io.BytesIO()
    workbook.save(buffer)
    now = dt.datetime(2026, 12, 1, tzinfo=SHANGHAI)
    result = import_tickets(acting_user=world.user("agent"), source=buffer, name="legacy.xlsx", system="x", now=now)
    assert result.error_count == 0, result.errors
    assert ExternalRef.objects.get(external_id="XS-1").ticket.created_at == dt.datetime(2026, 11, 2, 9, 5,
                                                                                           tzinfo=SHANGHAI)
    assert ExternalRef.objects.get(external_id="XS-2").ticket.created_at == dt.datetime(2026, 11, 2, tzinfo=SHANGHAI)
    data = io.BytesIO((BULK_HEADER
                       + "CS-1,46328.378472222,13900000003,投诉,其它,10086热线,内容,,,\n"
                       + "CS-2,2026年11月2日 09:05:00,13900000004,投诉,其它,10086热线,内容,,,\n").encode())
    result = import_tickets(acting_user=world.user("agent"), source=data, system="x", now=now)
    assert result.error_count == 0, result.errors
    for number in ("CS-1", "CS-2"):
        assert ExternalRef.objects.get(external_id=number).ticket.created_at == dt.datetime(2026, 11, 2, 9, 5,
                                                                                               tzinfo=SHANGHAI)
    refused = import_tickets(acting_user=world.user("agent"), source=io.BytesIO(
        (BULK_HEADER + "CS-3,20261102,13900000005,投诉,其它,10086热线,内容,,,\n").encode()), dry_run=True, now=now)
    assert [e.row for e in refused.errors] == [2]  # a number that is no Excel date of these years


def test_an_xlsx_whose_stated_size_is_wrong_is_read_whole(world: World) -> None:
    """Some exporting tools write a wrong (stale) sheet size (<dimension ref="A1:C2"/>): read-only openpyxl trusted
    it, so columns and rows beyond it were dropped without a word. Every row and column in the sheet is read."""
    import re
    import zipfile

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER.strip().split(","))
    for i in range(1, 4):
        sheet.append([f"D-{i}", "2026-10-05 09:30", f"1390000000{i}", "投诉", "OTHER", "短信", "断网"])
    saved = io.BytesIO()
    workbook.save(saved)
    stale = io.BytesIO()
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(stale, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "xl/worksheets/sheet1.xml":
                data, found = re.subn(rb'<dimension ref="[^"]*" ?/>', b'<dimension ref="A1:C2"/>', data)
                assert found == 1
            target.writestr(name, data)
    stale.seek(0)
    result = import_tickets(acting_user=world.user("agent"), source=stale, name="legacy.xlsx", system="x", now=T0)
    assert result.error_count == 0, result.errors
    assert (result.rows, result.created) == (3, 3)
    assert sorted(ExternalRef.objects.values_list("external_id", flat=True)) == ["D-1", "D-2", "D-3"]


def test_an_empty_file_or_one_without_a_header_is_reported_as_such(world: World) -> None:
    """A file of nothing (or of blank lines only, or an empty sheet) is one problem on line 1 in the user's language,
    not seven 'choose the column for ...' problems about a file that has no columns."""
    empty_sheet = io.BytesIO()
    Workbook().save(empty_sheet)
    sources = [("a.csv", b""), ("b.csv", codecs.BOM_UTF8), ("c.csv", b"\r\n\n , \r\n"),
               ("d.xlsx", empty_sheet.getvalue())]
    for name, data in sources:
        with translation.override("zh-hans"):
            tickets = import_tickets(acting_user=world.user("agent"), source=io.BytesIO(data), name=name, now=T0,
                                     dry_run=True)
            customers = import_customers(acting_user=world.user("supervisor"), source=io.BytesIO(data), name=name,
                                         dry_run=True)
        for result in (tickets, customers):
            assert [(e.row, e.column) for e in result.errors] == [(1, "")], (name, result.errors)
            assert "表头" in result.errors[0].message
    assert not Ticket.objects.exists() and not Customer.objects.exists()


def test_amounts_are_read_as_crm_and_excel_exports_write_them(world: World) -> None:
    """ARPU with a thousands separator, a currency sign or 元 (1,234.50, ¥88.00, 88元) is read as the amount;
    text that is no amount is still a row error."""
    data = ('手机号码,月均消费\n13900000001,"1,234.50"\n13900000002,¥88.00\n13900000003,88元\n13900000004,￥ 9.5\n'
            '13900000005,八十\n').encode()
    result = import_customers(acting_user=world.user("supervisor"), source=io.BytesIO(data), all_or_nothing=False)
    assert [e.row for e in result.errors] == [6]
    arpu = dict(Customer.objects.values_list("msisdn", "arpu"))
    assert [str(arpu[f"1390000000{i}"]) for i in range(1, 5)] == ["1234.50", "88.00", "88.00", "9.50"]


def test_a_title_above_the_header_is_skipped_and_lines_keep_their_numbers(world: World) -> None:
    """Legacy exports often start with a title in A1 (and a note below it) before the header: the header is found
    below it, and errors name the file's own line numbers. A file of one column is still read from its first line."""
    now = dt.datetime(2026, 12, 1, tzinfo=SHANGHAI)
    csv_data = ("江门移动投诉工单明细（2026年11月）,,,,,,,,,\n导出时间：2026-12-01 08:00,,,,,,,,,\n\n" + BULK_HEADER
                + "TT-1,2026-11-02 09:05,13900000011,投诉,其它,10086热线,内容,,,\n"
                + "TT-2,不是时间,13900000012,投诉,其它,10086热线,内容,,,\n").encode("gbk")
    result = import_tickets(acting_user=world.user("agent"), source=io.BytesIO(csv_data), system="x", now=now,
                            dry_run=True)
    assert [e.row for e in result.errors] == [6], result.errors  # TT-2 is the sixth line of the file
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["江门移动投诉工单明细（2026年11月）"])
    sheet.merge_cells("A1:G1")
    sheet.append(HEADER.strip().split(","))
    sheet.append(["TX-1", "2026-11-02 09:05", "13900000013", "投诉", "OTHER", "短信", "断网"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = import_tickets(acting_user=world.user("agent"), source=buffer, name="legacy.xlsx", system="x", now=now)
    assert result.error_count == 0, result.errors
    assert ExternalRef.objects.filter(external_id="TX-1").exists()
    one_column = import_customers(acting_user=world.user("supervisor"),
                                  source=io.BytesIO("手机号码\n13900000021\n13900000022\n".encode()))
    assert one_column.error_count == 0, one_column.errors
    assert Customer.objects.filter(msisdn__in=["13900000021", "13900000022"]).count() == 2


def test_a_customer_moved_to_another_region_does_not_keep_the_old_regions_branch(world: World) -> None:
    """A file row moving a known customer to another region without naming a branch: the Jiangmen branch they had
    is not theirs any more (they were counted per 10,000 customers of a Jiangmen branch while a Zhuhai customer)."""
    world.customer(msisdn="13900000009", region="JM", home_branch=world.units["branch_xh"])
    result = _customers("手机号码,归属地市\n13900000009,ZH\n", "admin", world)
    assert (result.error_count, result.updated) == (0, 1)
    customer = Customer.objects.get(msisdn="13900000009")
    assert (customer.region, customer.home_branch) == ("ZH", None)
    # Within the same region the branch stays.
    world.customer(msisdn="13900000010", region="JM", home_branch=world.units["branch_xh"])
    _customers("手机号码,归属地市,客户姓名\n13900000010,JM,新名\n", "admin", world)
    assert Customer.objects.get(msisdn="13900000010").home_branch == world.units["branch_xh"]


@MODES
def test_a_nul_character_in_a_csv_line_is_reported_on_its_line(world: World, parallel: bool) -> None:
    """Legacy exports pad cells with NUL bytes. Python 3.11's csv reads them (older ones refused the line), and
    PostgreSQL then refused the whole write (COPY: invalid byte sequence, a failed import); SQLite stored them.
    The line is reported, in the user's language, and nothing is imported, as for bytes that are not text."""
    bad = "EOMS-3,2026-10-07 10:00,13900000003,投诉,其它,10086热线,内\x00容\n"
    for all_or_nothing in (True, False):
        with translation.override("en"):
            result = _mode(import_tickets(acting_user=world.user("agent"), source=_csv([*GOOD, bad]), now=T0,
                                          system="eoms", all_or_nothing=all_or_nothing, parallel=parallel), parallel)
        assert [e.row for e in result.errors] == [4] and "NUL" in result.errors[0].message
        assert not result.applied and Ticket.objects.count() == 0
    customers = import_customers(acting_user=world.user("supervisor"),
                                 source=io.BytesIO("手机号码,客户姓名\n13900000002,李\x00四\n".encode()))
    assert [e.row for e in customers.errors] == [2] and Customer.objects.count() == 0
    assert "NUL 字符" in customers.errors[0].message  # in the user's language (the site's: Chinese)
