"""Enumerations of the work order: contact types, channels, priorities, states, actions, link kinds."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ContactType(models.TextChoices):
    CONSULTATION = "consultation", _("Consultation")
    COMPLAINT = "complaint", _("Complaint")
    SUGGESTION = "suggestion", _("Suggestion")
    FAULT = "fault", _("Fault report")
    APPEAL = "appeal", _("Regulator appeal")


class Channel(models.TextChoices):
    HOTLINE = "hotline", _("Hotline 10086")
    HALL = "hall", _("Service hall")
    ACCOUNT_MANAGER = "account_manager", _("Account manager")
    WEB = "web", _("Web self-service")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")
    REGULATOR = "regulator", _("Regulator (12300)")
    API = "api", _("API / other system")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Status(models.TextChoices):
    NEW = "new", _("Registered")
    DISPATCHED = "dispatched", _("Dispatched")
    IN_PROGRESS = "in_progress", _("In progress")
    PENDING_INFO = "pending_info", _("Waiting for information")
    HOLD_REQUESTED = "hold_requested", _("Suspension requested")
    ON_HOLD = "on_hold", _("Suspended")
    RETURNED = "returned", _("Returned")
    REPLIED = "replied", _("Replied")
    ANSWERED = "answered", _("Customer answered")
    CALLED_BACK = "called_back", _("Called back")
    CLOSED = "closed", _("Closed")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    REJECTED = "rejected", _("Rejected")


TERMINAL_STATUSES = frozenset({Status.CLOSED, Status.WITHDRAWN, Status.REJECTED})
OPEN_STATUSES = frozenset(set(Status) - TERMINAL_STATUSES)
# The SLA clocks stop in these states only (waiting for the customer or an approved suspension).
PAUSED_STATUSES = frozenset({Status.PENDING_INFO, Status.ON_HOLD})
# States in which the department owns the ticket (the per-hop clock runs).
WITH_DEPARTMENT_STATUSES = frozenset(
    {Status.DISPATCHED, Status.IN_PROGRESS, Status.PENDING_INFO, Status.HOLD_REQUESTED, Status.ON_HOLD}
)


class Action(models.TextChoices):
    """Every action of the closed loop, with the names the users know."""

    CREATE = "create", _("Register (受理)")
    DISPATCH = "dispatch", _("Dispatch (派单)")
    ACCEPT = "accept", _("Accept (接单)")
    TRANSFER = "transfer", _("Transfer (转派)")
    RETURN = "return", _("Return as misrouted (退单)")
    REQUEST_INFO = "request_info", _("Request information (补充信息)")
    PROVIDE_INFO = "provide_info", _("Supply the information")
    REQUEST_HOLD = "request_hold", _("Request suspension (挂起)")
    APPROVE_HOLD = "approve_hold", _("Approve suspension")
    DENY_HOLD = "deny_hold", _("Deny suspension")
    RESUME = "resume", _("Resume")
    REPLY = "reply", _("Reply with resolution (回单)")
    ANSWER = "answer", _("Answer the customer (答复客户)")
    CALLBACK = "callback", _("Callback (回访)")
    CLOSE = "close", _("Close (关闭)")
    REOPEN = "reopen", _("Reopen (重开)")
    WITHDRAW = "withdraw", _("Withdraw (撤销)")
    REJECT = "reject", _("Reject (驳回)")


class EventKind(models.TextChoices):
    """Timeline entries: every action, plus the things that happen to a ticket without an action."""

    CREATE = "create", _("Registered")
    DISPATCH = "dispatch", _("Dispatched")
    ACCEPT = "accept", _("Accepted")
    TRANSFER = "transfer", _("Transferred")
    RETURN = "return", _("Returned as misrouted")
    REQUEST_INFO = "request_info", _("Information requested")
    PROVIDE_INFO = "provide_info", _("Information supplied")
    REQUEST_HOLD = "request_hold", _("Suspension requested")
    APPROVE_HOLD = "approve_hold", _("Suspension approved")
    DENY_HOLD = "deny_hold", _("Suspension denied")
    RESUME = "resume", _("Resumed")
    REPLY = "reply", _("Replied")
    ANSWER = "answer", _("Customer answered")
    CALLBACK = "callback", _("Called back")
    CLOSE = "close", _("Closed")
    REOPEN = "reopen", _("Reopened")
    WITHDRAW = "withdraw", _("Withdrawn")
    REJECT = "reject", _("Rejected")
    NOTE = "note", _("Note")
    COMMIT_TIME = "commit_time", _("Committed time changed")
    REPEAT = "repeat", _("Repeat complaint detected")
    LINK = "link", _("Linked")
    ATTACHMENT = "attachment", _("Attachment added")
    OVERTIME = "overtime", _("Became overtime")
    PROBLEM = "problem", _("Became a problem ticket")
    SLA_RECOMPUTED = "sla_recomputed", _("SLA recomputed")


class CallbackVerdict(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    DISSATISFIED = "dissatisfied", _("Not satisfied")
    UNREACHABLE = "unreachable", _("Unreachable")


class RejectReason(models.TextChoices):
    INVALID = "invalid", _("Invalid")
    DUPLICATE = "duplicate", _("Duplicate")


class LinkKind(models.TextChoices):
    PARENT = "parent", _("Parent of")
    DUPLICATE = "duplicate", _("Duplicate of")
    RELATED = "related", _("Related to")
    REPEAT = "repeat", _("Repeat of")


class Visibility(models.TextChoices):
    INTERNAL = "internal", _("Internal")
    CUSTOMER = "customer", _("Customer may see")
