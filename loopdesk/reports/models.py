"""KPI data: one fact row per work order, daily rollups of those facts, assessment schemes, stored reports.

`ReportFact` is the ticket reduced to what the KPIs need (its dimensions and the days on which it
counts as created / dispatched / replied / answered / closed). `DailyRollup` holds the sums of the
facts per day and dimension; dashboards read only rollups. Both are kept in step by the ticket-event
listener in `loopdesk.reports.rollups` and can be rebuilt from the tickets (`manage.py rebuild_rollups`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from loopdesk.core.db import index_where_set
from loopdesk.core.names import EnglishNamed

# Handling-time histogram: bucket i holds durations in [EDGES[i-1], EDGES[i]) hours; the last is open-ended.
BUCKET_EDGES_HOURS = (2, 4, 8, 12, 24, 36, 48, 72, 96, 168, 336)
BUCKETS = len(BUCKET_EDGES_HOURS) + 1

# The dimensions of a rollup row (all NOT NULL: 0 / "" stand for "none", so the unique key works on
# every database, where NULLs would be distinct).
DIMENSIONS = (
    "province", "region", "branch_id", "department_id", "category_id", "contact_type", "channel", "tier", "brand",
)


class FactDimensions(models.Model):
    """The dimensions a fact is counted under (ids of units and categories as plain integers: facts outlive
    nothing they refer to, and 0 means none)."""

    province = models.CharField(_("province code"), max_length=8)
    region = models.CharField(_("region code"), max_length=8)
    branch_id = models.IntegerField(_("branch"), default=0)
    department_id = models.IntegerField(_("department"), default=0)
    category_id = models.IntegerField(_("category"))
    category_root_id = models.IntegerField(_("top category"), default=0)
    contact_type = models.CharField(_("contact type"), max_length=16)
    channel = models.CharField(_("channel"), max_length=16)
    tier = models.CharField(_("customer tier"), max_length=8)
    brand = models.CharField(_("brand"), max_length=16, blank=True)

    class Meta:
        abstract = True


class ReportFact(FactDimensions):
    """A work order as the KPIs see it: its dimensions and the days on which it counts for each measure.

    `department_id` is the department the ticket was last dispatched or transferred to (the handler unit
    at reply); 0 when it was never dispatched. Days are local (Asia/Shanghai) dates.
    """

    ticket = models.OneToOneField(
        "tickets.Ticket", primary_key=True, on_delete=models.CASCADE, related_name="report_fact",
        verbose_name=_("work order"),
    )

    created_day = models.DateField(_("created on"))
    dispatched_day = models.DateField(_("first dispatched on"), null=True)
    replied_day = models.DateField(_("replied on"), null=True)
    answered_day = models.DateField(_("answered on"), null=True)
    closed_day = models.DateField(_("closed on"), null=True)

    repeat = models.BooleanField(_("repeat complaint"), default=False)
    returns = models.PositiveIntegerField(_("returns"), default=0)
    reopened = models.BooleanField(_("reopened"), default=False)
    overtime = models.BooleanField(_("overtime (48–72 h)"), default=False)
    problem = models.BooleanField(_("problem (over 72 h)"), default=False)
    reply_minutes = models.IntegerField(_("dispatch to reply (minutes)"), null=True)
    reply_bucket = models.SmallIntegerField(_("dispatch to reply bucket"), null=True)
    e2e_minutes = models.IntegerField(_("registration to answer (minutes)"), null=True)
    e2e_bucket = models.SmallIntegerField(_("registration to answer bucket"), null=True)
    verdict = models.CharField(_("callback verdict"), max_length=16, blank=True)
    # The day of the callback whose verdict `verdict` is (the verdict counts on it, also when the work order has been
    # reopened since); and whether this handling cycle's callback reached the customer (callback completion).
    callback_day = models.DateField(_("called back on"), null=True)
    called_back = models.BooleanField(_("called back in this cycle"), default=False, db_default=False)
    fcr = models.BooleanField(_("first-contact resolution"), default=False)
    # The ticket's latest satisfaction survey (sent when it was closed): the day it was sent, its 1–5 score.
    survey_day = models.DateField(_("survey sent on"), null=True)
    survey_score = models.SmallIntegerField(_("survey score"), null=True)

    class Meta:
        verbose_name = _("KPI fact")
        verbose_name_plural = _("KPI facts")
        # The drill-down reads a day family's facts by `region` and a range of that day (which implies the day is
        # set): the days a work order has not reached yet (every open one's closing day, an undispatched one's
        # dispatch and reply days) are left out of their indexes.
        indexes = [
            models.Index(fields=["region", "created_day"], name="rpt_fact_created"),
            index_where_set("region", "dispatched_day", name="rpt_fact_dispatched"),
            index_where_set("region", "replied_day", name="rpt_fact_replied"),
            index_where_set("region", "answered_day", name="rpt_fact_answered"),
            index_where_set("region", "closed_day", name="rpt_fact_closed"),
            index_where_set("region", "callback_day", name="rpt_fact_callback"),
        ]


def _counter(label: str) -> models.IntegerField:
    return models.IntegerField(label, default=0)


def _hop_counter(label: str) -> models.IntegerField:
    return models.IntegerField(label, default=0, db_default=0)


class HopOutcome(models.TextChoices):
    """How a hop ended: the department replied, transferred the ticket on, returned it (退单); the ticket was
    withdrawn while with the department; or the department still holds it."""

    REPLIED = "replied", pgettext_lazy("hop outcome", "replied")
    TRANSFERRED = "transferred", pgettext_lazy("hop outcome", "transferred on")
    RETURNED = "returned", pgettext_lazy("hop outcome", "returned (退单)")
    WITHDRAWN = "withdrawn", pgettext_lazy("hop outcome", "withdrawn")
    OPEN = "open", pgettext_lazy("hop outcome", "still open")


class HopFact(FactDimensions):
    """A hop of a work order: one period a department held it, from the dispatch or transfer to it (event `seq`)
    until it replied, transferred it on or returned it (or the ticket was withdrawn; still open: no end). The
    ticket's dimensions are copied (as the fold read them), with the hop's department as `department_id`, so
    that the hop counters of the rollups are summed by the department that held the ticket. Kept in step by the
    fold with the ticket's `ReportFact`; `hop_minutes` is elapsed time (as dispatch → reply is)."""

    id = models.BigAutoField(primary_key=True)
    # No index of its own: rpt_hop_key (ticket, seq) starts with it.
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="hop_facts",
                               verbose_name=_("work order"), db_index=False)
    seq = models.PositiveIntegerField(_("sequence"))
    started_at = models.DateTimeField(_("received at"))
    ended_at = models.DateTimeField(_("ended at"), null=True)
    hop_day = models.DateField(_("received on"))
    hop_end_day = models.DateField(_("ended on"), null=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=HopOutcome.choices)
    hop_minutes = models.IntegerField(_("handling (minutes)"), null=True)
    hop_bucket = models.SmallIntegerField(_("handling bucket"), null=True)

    class Meta:
        verbose_name = _("hop fact")
        verbose_name_plural = _("hop facts")
        constraints = [models.UniqueConstraint(fields=["ticket", "seq"], name="rpt_hop_key")]
        indexes = [
            models.Index(fields=["region", "hop_day"], name="rpt_hop_day"),
            # Open hops have no end day (and are not counted by it).
            index_where_set("region", "hop_end_day", name="rpt_hop_end_day"),
        ]


class RollupCounters(models.Model):
    """The counters every rollup table holds. Each belongs to a family counted on its own day (see
    `loopdesk.reports.rollups.COUNTERS`): created, repeat, returns, reopened on the creation day; dispatched,
    overtime, problem on the first dispatch day; replied and the dispatch→reply histogram on the reply day;
    answered, callbacks owed and completed and the registration→answer histogram on the answer day; callback
    verdicts on the callback day; closed and first-contact resolution on the close day."""

    created = _counter(_("created"))
    complaints = _counter(_("complaints"))
    appeals = _counter(_("regulator appeals"))
    repeat = _counter(_("repeat complaints"))
    returns = _counter(_("returns"))
    reopened = _counter(_("reopened"))
    dispatched = _counter(_("dispatched"))
    overtime = _counter(_("overtime"))
    problem = _counter(_("problem"))
    replied = _counter(_("replied"))
    reply_minutes = models.BigIntegerField(_("dispatch to reply, minutes"), default=0)
    rh0 = _counter("rh0")
    rh1 = _counter("rh1")
    rh2 = _counter("rh2")
    rh3 = _counter("rh3")
    rh4 = _counter("rh4")
    rh5 = _counter("rh5")
    rh6 = _counter("rh6")
    rh7 = _counter("rh7")
    rh8 = _counter("rh8")
    rh9 = _counter("rh9")
    rh10 = _counter("rh10")
    rh11 = _counter("rh11")
    answered = _counter(_("answered"))
    e2e_minutes = models.BigIntegerField(_("registration to answer, minutes"), default=0)
    eh0 = _counter("eh0")
    eh1 = _counter("eh1")
    eh2 = _counter("eh2")
    eh3 = _counter("eh3")
    eh4 = _counter("eh4")
    eh5 = _counter("eh5")
    eh6 = _counter("eh6")
    eh7 = _counter("eh7")
    eh8 = _counter("eh8")
    eh9 = _counter("eh9")
    eh10 = _counter("eh10")
    eh11 = _counter("eh11")
    cb_satisfied = _counter(_("callbacks: satisfied"))
    cb_dissatisfied = _counter(_("callbacks: not satisfied"))
    cb_unreachable = _counter(_("callbacks: unreachable"))
    # Callback completion, on the answer day: work orders answered after a department's reply (owed a callback) and
    # those of them whose callback reached the customer. A database default, as the hop counters below.
    cb_due = _hop_counter(_("callbacks owed"))
    cb_done = _hop_counter(_("callbacks completed"))
    closed = _counter(_("closed"))
    fcr = _counter(_("first-contact resolutions"))
    # Satisfaction surveys (1–5; 4 and 5 are "satisfied"), counted on the day the survey was sent: of closed
    # work orders (by the ticket's dimensions) and of window services (hall, hotline: by channel and unit rated).
    sv_sent = _counter(_("work-order surveys sent"))
    sv_answered = _counter(_("work-order surveys answered"))
    sv_score = _counter(_("work-order survey scores, sum"))
    sv_satisfied = _counter(_("work-order surveys satisfied (4–5)"))
    ws_sent = _counter(_("window surveys sent"))
    ws_answered = _counter(_("window surveys answered"))
    ws_score = _counter(_("window survey scores, sum"))
    ws_satisfied = _counter(_("window surveys satisfied (4–5)"))
    # Hops (`HopFact`: each period a department holds a ticket), by the hop's department: received, returned
    # (退单) and transferred on, on the day received; handled (replied, transferred or returned), their minutes
    # and histogram on the day the hop ended. A database default, so that rows written by code that does not know
    # these columns yet (an older worker during an upgrade) still insert.
    hops = _hop_counter(_("hops received"))
    hop_returned = _hop_counter(_("hops returned (退单)"))
    hop_transferred = _hop_counter(_("hops transferred on"))
    hop_done = _hop_counter(_("hops handled"))
    hop_minutes = models.BigIntegerField(_("per hop handling, minutes"), default=0, db_default=0)
    hh0 = _hop_counter("hh0")
    hh1 = _hop_counter("hh1")
    hh2 = _hop_counter("hh2")
    hh3 = _hop_counter("hh3")
    hh4 = _hop_counter("hh4")
    hh5 = _hop_counter("hh5")
    hh6 = _hop_counter("hh6")
    hh7 = _hop_counter("hh7")
    hh8 = _hop_counter("hh8")
    hh9 = _hop_counter("hh9")
    hh10 = _hop_counter("hh10")
    hh11 = _hop_counter("hh11")

    class Meta:
        abstract = True


class DailyRollup(RollupCounters):
    """The sums of the KPI facts for one day and every dimension (the leaf category): any filter, any grouping."""

    day = models.DateField(_("day"))
    province = models.CharField(_("province code"), max_length=8)
    region = models.CharField(_("region code"), max_length=8)
    branch_id = models.IntegerField(_("branch"), default=0)
    department_id = models.IntegerField(_("department"), default=0)
    category_id = models.IntegerField(_("category"))
    contact_type = models.CharField(_("contact type"), max_length=16)
    channel = models.CharField(_("channel"), max_length=16)
    tier = models.CharField(_("customer tier"), max_length=8)
    brand = models.CharField(_("brand"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("daily rollup")
        verbose_name_plural = _("daily rollups")
        constraints = [models.UniqueConstraint(fields=["day", *DIMENSIONS], name="rpt_rollup_key")]
        indexes = [models.Index(fields=["region", "day"], name="rpt_rollup_region_day")]




class MonthlyRollup(RollupCounters):
    """The same sums per month and top category: what month reports, dashboards and scorecards read (small)."""

    month = models.DateField(_("month"))
    province = models.CharField(_("province code"), max_length=8)
    region = models.CharField(_("region code"), max_length=8)
    branch_id = models.IntegerField(_("branch"), default=0)
    department_id = models.IntegerField(_("department"), default=0)
    category_root_id = models.IntegerField(_("top category"))
    contact_type = models.CharField(_("contact type"), max_length=16)
    channel = models.CharField(_("channel"), max_length=16)
    tier = models.CharField(_("customer tier"), max_length=8)
    brand = models.CharField(_("brand"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("monthly rollup")
        verbose_name_plural = _("monthly rollups")
        constraints = [models.UniqueConstraint(
            fields=["month", "province", "region", "branch_id", "department_id", "category_root_id", "contact_type",
                    "channel", "tier", "brand"], name="rpt_monthly_key")]
        indexes = [models.Index(fields=["region", "month"], name="rpt_monthly_region")]


class DailyTotal(RollupCounters):
    """The same sums per day and region only: daily trends without filters."""

    day = models.DateField(_("day"))
    province = models.CharField(_("province code"), max_length=8)
    region = models.CharField(_("region code"), max_length=8)

    class Meta:
        verbose_name = _("daily total")
        verbose_name_plural = _("daily totals")
        constraints = [models.UniqueConstraint(fields=["day", "province", "region"], name="rpt_daily_total_key")]


class AssessmentScheme(EnglishNamed, models.Model):
    """An assessment scheme (考核办法): items with weights that score every branch and department for a period.
    A city company may have its own (`region`); a region without one is scored on the company's (region empty)."""

    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True,
                               help_text=_("Shown when the interface is in English; empty: the Chinese name."))
    region = models.CharField(
        _("region"), max_length=16, blank=True, default="",
        help_text=_("The city company (region code) whose branches and departments this scheme scores. Empty: the "
                    "company's scheme, for every region without one of its own."),
    )
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("assessment scheme")
        verbose_name_plural = _("assessment schemes")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The region as the units spell it (JM for ' jm'), and one the company has: a scheme for a region code
        no unit carries was saved and never used, the region going on with the company's scheme."""
        from loopdesk.org.models import OrgUnit

        code = (self.region or "").strip().upper()
        if code and not OrgUnit.objects.filter(region=code).exists():
            raise ValidationError({"region": _("No city company has the region code “%(code)s”.") % {"code": code}})
        self.region = code
        # One active scheme per region (and one of the company): of two, the last edited scored the region, so an
        # edit to the other silently switched every scorecard to it.
        other = AssessmentScheme.objects.filter(region=code, is_active=True).exclude(pk=self.pk).first()
        if self.is_active and other is not None:
            raise ValidationError({"is_active": _("“%(name)s” is already the active scheme of %(scope)s: deactivate "
                                                  "it first, or save this one inactive.")
                                   % {"name": other.name, "scope": code or _("the company")}})


class ScoreMethod(models.TextChoices):
    ATTAINMENT = "attainment", _("Attainment of the target (达标)")
    IMPROVEMENT = "improvement", _("Improvement on last period (改善)")
    SHORT_BOARD = "short_board", _("Improvement of the weakest category (短板改善)")


def assessment_measures() -> list[tuple[str, Any]]:
    """The measures an assessment item may score (`scorecards.RATE_MEASURES`), with their labels. A callable:
    the admin offers exactly these, and a change to the list needs no migration."""
    from loopdesk.reports.measures import MEASURES
    from loopdesk.reports.scorecards import RATE_MEASURES

    return [(name, MEASURES[name][0]) for name in RATE_MEASURES]


class AssessmentItem(EnglishNamed, models.Model):
    """One item of a scheme: a measure, how it is scored, its target and its weight in points."""

    scheme = models.ForeignKey(AssessmentScheme, on_delete=models.CASCADE, related_name="items",
                               verbose_name=_("scheme"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True,
                               help_text=_("Shown when the interface is in English; empty: the Chinese name."))
    measure = models.CharField(_("measure"), max_length=32, choices=assessment_measures)
    method = models.CharField(_("method"), max_length=16, choices=ScoreMethod.choices)
    target = models.FloatField(
        _("target"), help_text=_("Attainment: the rate to reach (0.9 = 90 %). Improvement: the points to gain (0.02)."))
    weight = models.FloatField(_("weight (points)"))
    channels = models.CharField(_("only channels"), max_length=100, blank=True,
                                help_text=_("Comma-separated channel codes, e.g. hall,hotline; empty = all."))

    class Meta:
        verbose_name = _("assessment item")
        verbose_name_plural = _("assessment items")
        ordering = ["scheme", "position", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Refuse what cannot be scored, on its field: rates are fractions (a target of 90 for 90 % is never
        reached), a target of 0 scores every unit full, a weight must be points to gain, channels must exist.
        The channels are kept as the scorecard reads them (codes, comma-separated, without spaces)."""
        from loopdesk.tickets.choices import Channel

        errors: dict[str, Any] = {}
        if self.target is not None and not 0 < self.target <= 1:
            errors["target"] = _("Enter a rate as a fraction between 0 and 1 (0.9 for 90 %; an improvement of 2 "
                                 "points: 0.02).")
        if self.weight is not None and self.weight <= 0:
            errors["weight"] = _("The weight is the points the item gives: more than 0.")
        codes = [c.strip() for c in (self.channels or "").split(",") if c.strip()]
        unknown = [c for c in codes if c not in Channel.values]
        if unknown:
            errors["channels"] = _("Unknown channel code(s): %(codes)s (codes: %(known)s).") % {
                "codes": ", ".join(unknown), "known": ", ".join(Channel.values)}
        else:
            self.channels = ",".join(codes)
        if errors:
            raise ValidationError(errors)


class StoredReport(models.Model):
    """A report workbook produced on schedule (the monthly report), kept for download."""

    kind = models.CharField(_("kind"), max_length=16, default="monthly")
    period = models.DateField(_("period start"))
    scope = models.CharField(
        _("scope"), max_length=24,
        help_text=_("A region code (JM), “province:” and a province code (province:GD), or “all”."),
    )
    file = models.FileField(_("file"), upload_to="reports/", max_length=255)
    # The same workbook in English (sheet names, headers, units and categories), produced with the Chinese one.
    file_en = models.FileField(_("file (English)"), upload_to="reports/", max_length=255, blank=True)
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("created by"))

    class Meta:
        verbose_name = _("stored report")
        verbose_name_plural = _("stored reports")
        constraints = [models.UniqueConstraint(fields=["kind", "period", "scope"], name="rpt_stored_unique")]
        ordering = ["-period", "scope"]

    def file_for(self, language: str | None) -> Any:
        """The workbook in `language`: the English one for English (when kept), else the Chinese one."""
        if language and language.startswith("en") and self.file_en:
            return self.file_en
        return self.file

    def scope_filters(self) -> dict[str, str] | None:
        """The report filters of the scope: None for the whole company."""
        return scope_filters(self.scope)

    def scope_label(self) -> str:
        """The scope as users read it: "all regions", "GD province-wide", or the region code."""
        if self.scope == "all":
            return str(_("all regions"))
        if self.scope.startswith(PROVINCE_SCOPE):
            return str(_("%(province)s province-wide") % {"province": self.scope.removeprefix(PROVINCE_SCOPE)})
        return self.scope


PROVINCE_SCOPE = "province:"  # a stored report's scope for a whole province: "province:GD"


def scope_filters(scope: str) -> dict[str, str] | None:
    """The report filters of a stored report's scope: None ("all"), a province, or a region."""
    if scope == "all":
        return None
    if scope.startswith(PROVINCE_SCOPE):
        return {"province": scope.removeprefix(PROVINCE_SCOPE)}
    return {"region": scope}


class ImportRun(models.Model):
    """A completed import of legacy work orders or customers (what was imported, by whom, how many)."""

    kind = models.CharField(_("kind"), max_length=16)
    filename = models.CharField(_("file name"), max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("imported by"))
    created_at = models.DateTimeField(_("imported at"))
    rows = models.PositiveIntegerField(_("rows"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    skipped = models.PositiveIntegerField(_("already imported"), default=0)
    errors = models.PositiveIntegerField(_("rows with errors"), default=0)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]


class ImportJob(models.Model):
    """A dry run or an import of a large file from the import page, run by the background worker
    (`loopdesk.reports.importjobs`): what to run (the kept file, the columns, the mode), how far it got, and its
    report. The page shows it while it runs and when it has finished; a web request never waits for it."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Finished")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=16)  # "tickets" or "customers"
    dry_run = models.BooleanField(_("dry run"))
    partial = models.BooleanField(_("import the good rows"), default=False)
    system = models.CharField(_("source system"), max_length=32, blank=True)
    filename = models.CharField(_("file name"), max_length=200)
    file_key = models.CharField(max_length=64)  # the kept file (`stash`), by its random name
    token = models.TextField()  # the page's signed token for that file (the next step's form carries it)
    columns = models.JSONField(_("column mapping"), default=dict)  # field -> column position, as the dry run checked
    language = models.CharField(_("language"), max_length=16, blank=True)  # of the report's messages
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                                   verbose_name=_("started by"))
    created_at = models.DateTimeField(_("started at"), auto_now_add=True)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.QUEUED)
    started_at = models.DateTimeField(_("run started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # counts and the first problems (`importjobs.report`)
    result = models.JSONField(_("result"), null=True, blank=True)
    failure = models.TextField(_("reason for failure"), blank=True)

    class Meta:
        verbose_name = _("background import")
        verbose_name_plural = _("background imports")
        ordering = ["-created_at"]


class RollupPending(models.Model):
    """A ticket whose KPI fact may be out of date: written by the ticket-event listener (one cheap insert per
    event, inside the service's transaction) and consumed by the fold (`loopdesk.reports.rollups.fold_pending`),
    which recomputes the ticket's fact and adds the difference to the rollups in the same transaction."""

    id = models.BigAutoField(primary_key=True)
    ticket_id = models.BigIntegerField(_("work order"))

    class Meta:
        verbose_name = _("rollup backlog entry")
        verbose_name_plural = _("rollup backlog")


class SurveyFact(models.Model):
    """A window-service survey (hall, hotline) as the KPIs see it: the channel and the unit rated (its branch),
    the day it was sent and its score. Ticket surveys are in the ticket's `ReportFact`."""

    survey = models.OneToOneField("surveys.Survey", primary_key=True, on_delete=models.CASCADE,
                                  related_name="report_fact", verbose_name=_("satisfaction survey"))
    province = models.CharField(_("province code"), max_length=8)
    region = models.CharField(_("region code"), max_length=8)
    branch_id = models.IntegerField(_("branch"), default=0)
    department_id = models.IntegerField(_("unit rated"), default=0)
    channel = models.CharField(_("channel"), max_length=16)
    window_day = models.DateField(_("survey sent on"))
    survey_score = models.SmallIntegerField(_("survey score"), null=True)

    class Meta:
        verbose_name = _("window survey fact")
        verbose_name_plural = _("window survey facts")


class SurveyPending(models.Model):
    """A window-service survey whose fact may be out of date (created or answered): consumed by the fold."""

    id = models.BigAutoField(primary_key=True)
    survey_id = models.BigIntegerField(_("satisfaction survey"))

    class Meta:
        verbose_name = _("survey backlog entry")
        verbose_name_plural = _("survey backlog")


class CustomerBase(models.Model):
    """The customer base as of the end of one day (Asia/Shanghai): what "complaints per 10,000 customers" of a
    period that ended that day divides by, so a reported month's figure does not move as customers are added or
    move region later (`loopdesk.reports.customerbase`). Its counts are `CustomerBaseCount` rows."""

    day = models.DateField(_("as of the end of"), unique=True)
    taken_at = models.DateTimeField(_("counted at"))
    # Counted later than the day it stands for (`manage.py snapshot_customers --since`): today's customers
    # then stood in for that day's, as they did before the base was kept.
    backfilled = models.BooleanField(_("back-filled"), default=False)

    class Meta:
        verbose_name = _("customer base")
        verbose_name_plural = _("customer bases")
        ordering = ["-day"]

    def __str__(self) -> str:
        return self.day.isoformat()


class CustomerBaseCount(models.Model):
    """How many customers one `CustomerBase` holds per home region, home branch (0: none), brand and tier: the
    groupings and filters of "per 10,000 customers", a few thousand rows a day however many customers there are."""

    base = models.ForeignKey(CustomerBase, on_delete=models.CASCADE, related_name="counts",
                             verbose_name=_("customer base"))
    province = models.CharField(_("province code"), max_length=8)
    region = models.CharField(_("region code"), max_length=8)
    branch_id = models.IntegerField(_("branch"), default=0)
    brand = models.CharField(_("brand"), max_length=16, blank=True)
    tier = models.CharField(_("customer tier"), max_length=8)
    customers = models.PositiveIntegerField(_("customers"))

    class Meta:
        verbose_name = _("customer base count")
        verbose_name_plural = _("customer base counts")
        constraints = [models.UniqueConstraint(fields=["base", "province", "region", "branch_id", "brand", "tier"],
                                               name="rpt_customer_base_key")]
