"""``manage.py seed_demo``: a demo organisation so every page has something real to show."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from incidents.demo import DemoDataError, build_demo


class Command(BaseCommand):
    help = (
        "Create a demo organisation: teams, people, services, and a year of incidents with timelines, "
        "postmortems in every state, action items and repeat-incident links, imported from incidents/demo_data/ "
        "and moved to today. Safe to run again: "
        "existing demo data is left alone and only the demo logins (demo / demo, and one persona per role) are reset."
    )

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        try:
            result = build_demo()
        except DemoDataError as exc:
            raise CommandError(str(exc)) from exc
        elapsed = time.monotonic() - started

        if result.created:
            self.stdout.write(self.style.SUCCESS(f"Created the demo organisation in {elapsed:.1f} s."))
        else:
            self.stdout.write(self.style.WARNING("Demo data already present; nothing created."))
        width = max(len(name) for name in result.counts)
        for name, value in result.counts.items():
            self.stdout.write(f"  {name:<{width}}  {value}")
        self.stdout.write(
            self.style.SUCCESS(f"Log in as {result.username} / {result.password} (superuser; /admin/ works too).")
        )
        for role, username in result.personas:
            self.stdout.write(self.style.SUCCESS(f"  or as the {role}: {username} / {result.password}"))
