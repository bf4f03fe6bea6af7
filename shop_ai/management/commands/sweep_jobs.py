"""Send again the work a lost message never triggered (see shop_ai/sweeper.py); once, or `--every N` seconds."""

from __future__ import annotations

import time
from datetime import timedelta

from django.core.management.base import BaseCommand

from shop_ai.sweeper import stuck_work_sweep


class Command(BaseCommand):
    help = ("Find work the database says is pending but no message is carrying (a broker restart, a publish "
            "that failed) and send it again: revenue cells, persona refreshes, generation jobs.")

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=float, default=120.0,
                            help="Seconds work may wait before it counts as stuck (default 120).")
        parser.add_argument("--every", type=float, default=0.0,
                            help="Keep sweeping, every this many seconds (default: sweep once and exit).")

    def handle(self, *args, older_than: float, every: float, **options):
        while True:
            report = stuck_work_sweep(older_than=timedelta(seconds=older_than))
            self.stdout.write(f"Swept: {report}.")
            if every <= 0:
                return
            time.sleep(every)
