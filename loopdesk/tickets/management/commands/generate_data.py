"""`manage.py generate_data --tickets N --seed S`: a deterministic Jiangmen-like dataset, in bulk."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from loopdesk.core.db import refresh_statistics
from loopdesk.tickets.generator import MissingReference, Options, ensure_reference, generate


class Command(BaseCommand):
    help = (
        "Generate demo / benchmark data: staff (if missing), customers and work orders with full timelines. "
        "Seeds the reference data first when there is no organisation yet."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tickets", type=int, required=True, help="How many work orders.")
        parser.add_argument("--seed", type=int, default=1, help="Random seed: the same seed gives the same data.")
        parser.add_argument("--customers", type=int, default=None, help="How many customers (default tickets/3).")
        parser.add_argument(
            "--months", type=int, default=None, help="Spread over this many months (default ~5,000 a month)."
        )
        parser.add_argument("--batch-size", type=int, default=2000, help="Tickets per insert batch.")
        parser.add_argument(
            "--staff-per-role", type=int, default=50,
            help="About this many staff in every role, spread over the role's units (default 50, as a real operator;"
                 " 0: the small demo set).",
        )
        parser.add_argument(
            "--open-share",
            type=float,
            default=0.0,
            help="Extra share of tickets left unfinished (0..1), for load tests.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["tickets"] < 0:
            raise CommandError("--tickets must be 0 or more.")
        if not 0 <= options["staff_per_role"] <= 10_000:
            raise CommandError("--staff-per-role must be between 0 and 10,000.")
        for name in ("customers", "months", "batch_size"):
            if options[name] is not None and options[name] < 1:
                raise CommandError(f"--{name.replace('_', '-')} must be 1 or more.")
        if not 0 <= options["open_share"] <= 1:
            raise CommandError("--open-share must be between 0 and 1.")
        try:
            if ensure_reference():
                self.stdout.write("Reference data seeded (organisation, categories, SLA policies, routing).")
        except MissingReference as exc:
            raise CommandError(str(exc)) from exc
        started = time.perf_counter()
        last = [started]

        def progress(done: int, total: int) -> None:
            now = time.perf_counter()
            if now - last[0] >= 5 or done == total:
                last[0] = now
                rate = done / max(now - started, 1e-9)
                self.stdout.write(f"  {done:,}/{total:,} tickets ({rate:,.0f}/s)")

        try:
            result = generate(
                Options(
                    tickets=options["tickets"],
                    seed=options["seed"],
                    customers=options["customers"],
                    months=options["months"],
                    batch_size=options["batch_size"],
                    open_share=options["open_share"],
                    staff_per_role=options["staff_per_role"] or None,
                    progress=progress if options["verbosity"] >= 1 else None,
                )
            )
        except MissingReference as exc:
            raise CommandError(str(exc)) from exc
        analyzed = refresh_statistics()
        self.stdout.write(f"Planner statistics refreshed in {analyzed:.1f} s.")
        rate = result.tickets / result.seconds if result.seconds else 0.0
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {result.tickets:,} tickets, {result.events:,} timeline events, "
                f"{result.customers:,} customers ({result.users} demo staff) in {result.seconds:.1f} s "
                f"({rate:,.0f} tickets/s)."
            )
        )
