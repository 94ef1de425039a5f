"""Verify that every ticket's stored state equals the replay of its timeline."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from loopdesk.tickets.models import Ticket, TicketEvent
from loopdesk.tickets.timeline import replay_matches


class Command(BaseCommand):
    help = "Replay every work order's timeline and report tickets whose stored state differs."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch", type=int, default=2000)
        parser.add_argument("--limit", type=int, default=0, help="stop after this many tickets (0: all)")

    def handle(self, *args: Any, **options: Any) -> None:
        checked = bad = 0
        last_id = 0
        fields = ("id", "number", "status", "handler_unit_id", "handler_user_id", "first_responder_id",
                  "last_event_seq")
        while True:
            tickets = list(Ticket.objects.filter(id__gt=last_id).order_by("id").only(*fields)[: options["batch"]])
            if not tickets:
                break
            events = (
                TicketEvent.objects.filter(ticket_id__in=[t.pk for t in tickets])
                .order_by("ticket_id", "seq")
                .only("ticket_id", "kind", "to_status", "to_unit_id", "to_user_id", "actor_id")
            )
            by_ticket = {tid: list(evs) for tid, evs in groupby(events, key=lambda e: e.ticket_id)}
            for t in tickets:
                problems = replay_matches(t, by_ticket.get(t.pk, []))
                if problems:
                    bad += 1
                    self.stderr.write(f"{t.number}: " + "; ".join(problems))
            checked += len(tickets)
            last_id = tickets[-1].pk
            if options["limit"] and checked >= options["limit"]:
                break
        self.stdout.write(f"checked {checked} work orders, {bad} differ from their timeline")
        if bad:
            raise CommandError(f"{bad} work orders differ from their timeline")
