"""Issue an API token for an integration from the command line (the admin does the same)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from loopdesk.org.models import OrgUnit, User
from loopdesk.tmf.models import ApiToken


class Command(BaseCommand):
    help = "Issue an API token acting as a service user; prints the token once (only its hash is stored)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--name", required=True, help="e.g. 'CRM production'")
        parser.add_argument("--system", required=True, help="system code, e.g. CRM, OSS, HQ")
        parser.add_argument("--user", required=True, help="username of the service user the token acts as")
        parser.add_argument("--write", action="store_true", help="may create and change (default: read only)")
        parser.add_argument("--unit", action="append", default=[], help="limit to this unit code (repeatable)")
        parser.add_argument("--rate", type=int, default=None, help="requests per minute (default: deployment's)")
        parser.add_argument("--expires", default=None,
                            help="stops working then: YYYY-MM-DD (the start of that day) or an ISO date-time; "
                                 "local time (Asia/Shanghai) unless an offset is given (default: never)")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {options['user']!r}")
        units = list(OrgUnit.objects.filter(code__in=options["unit"]))
        if len(units) != len(set(options["unit"])):
            raise CommandError(f"unknown unit code in {options['unit']}")
        expires_at = _expiry(options["expires"])
        token = ApiToken(name=options["name"], system=options["system"], user=user, can_write=options["write"],
                         rate_per_minute=options["rate"], expires_at=expires_at)
        raw = token.set_new_key()
        try:
            token.full_clean()  # the admin's checks: lengths, a rate of at least 1 ... (was a database traceback)
        except ValidationError as exc:
            raise CommandError("; ".join(f"--{field.replace('rate_per_minute', 'rate')}: {' '.join(messages)}"
                                         for field, messages in exc.message_dict.items())) from exc
        token.save()
        token.units.set(units)
        self.stdout.write(raw)


def _expiry(value: str | None) -> Any:
    """`--expires`: a date (its first moment) or a date-time, in the deployment's time zone unless it says."""
    if value is None:
        return None
    try:
        moment = parse_datetime(value)
        if moment is None and (day := parse_date(value)) is not None:
            moment = timezone.datetime(day.year, day.month, day.day)
    except ValueError:
        moment = None
    if moment is None:
        raise CommandError(f"--expires: not a date (YYYY-MM-DD) or ISO date-time: {value!r}")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    if moment <= timezone.now():
        raise CommandError(f"--expires: {value!r} is not in the future; the token would never work")
    return moment
