"""`manage.py load_demo`: reference data, demo staff and a small set of work orders, then the logins."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from loopdesk.core.db import refresh_statistics
from loopdesk.tickets.generator import (
    DEMO_PASSWORD,
    MissingReference,
    Options,
    Reference,
    demo_logins,
    ensure_staff,
    generate,
)
from loopdesk.tickets.models import Ticket

DEMO_TICKETS = 2000
DEMO_SEED = 2010  # Jiangmen's first half of 2010 is where the volumes come from


class Command(BaseCommand):
    help = "Load the README demo: reference data, demo staff, 2,000 work orders (once), and print the logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--tickets", type=int, default=DEMO_TICKETS, help="Work orders to generate when none exist."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            from loopdesk.core.reference import seed_reference
        except ImportError as exc:
            raise CommandError("loopdesk.core.reference.seed_reference is not available.") from exc
        seed_reference()
        try:
            if Ticket.objects.exists():
                self.stdout.write("Work orders already exist: none generated.")
                with transaction.atomic():
                    ensure_staff(Reference.load(), DEMO_SEED)
            else:
                result = generate(
                    Options(tickets=options["tickets"], seed=DEMO_SEED, customers=max(500, options["tickets"] // 2))
                )
                self.stdout.write(
                    f"Generated {result.tickets:,} work orders and {result.customers:,} customers "
                    f"in {result.seconds:.1f} s."
                )
                refresh_statistics()
        except MissingReference as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        rows = demo_logins()
        width = max((len(r[0]) for r in rows), default=8)
        for username, roles, unit in rows:
            self.stdout.write(f"  {username:<{width}}  {roles:<16}  {unit}")
        self.stdout.write("")
        self.stdout.write("Start the server (python manage.py runserver) and open http://127.0.0.1:8000/ to sign in.")
