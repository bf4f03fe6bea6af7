from datetime import date

from django.core.management.base import BaseCommand, CommandError

from analytics.reports import BenefitReportError, benefit_report
from profiles.models import Shop


class Command(BaseCommand):
    help = ("A/A check: run the benefit report's variant-vs-holdout pipeline (sample ratio, CUPED, always-valid "
            "interval, decision) on the held-out shoppers split in two. Nobody in either half saw a variant, so a "
            "'difference' means the pipeline or the split is wrong.")

    def add_arguments(self, parser):
        parser.add_argument("--shop", required=True, help="The shop's name.")
        parser.add_argument("--start", type=date.fromisoformat, help="First day (YYYY-MM-DD); default: 8 weeks back.")
        parser.add_argument("--end", type=date.fromisoformat, help="Last day (YYYY-MM-DD); default: yesterday.")

    def handle(self, *args, shop: str, start: date | None, end: date | None, **options):
        target = Shop.objects.filter(name=shop).first()
        if target is None:
            raise CommandError(f"No shop called {shop!r}; see `manage.py create_shop`.")
        try:
            report = benefit_report(shop=target, start=start, end=end, aa=True)
        except BenefitReportError as problem:
            raise CommandError(str(problem)) from problem
        experiment = report.experiment
        self.stdout.write(f"{report.start} to {report.end}: {report.headline}")
        self.stdout.write(f"  {experiment.sample_ratio.message}")
        for name, adjusted in experiment.adjusted.items():
            for kind, estimate in (("unadjusted", adjusted.unadjusted), ("CUPED", adjusted.adjusted)):
                if estimate.lift is not None:
                    self.stdout.write(f"  {estimate.estimand}, {kind}: {estimate.lift:+.1%} "
                                      f"(95 % CI {estimate.ci_low:+.1%} to {estimate.ci_high:+.1%})")
        if experiment.decision is not None:
            self.stdout.write(f"  decision the pipeline would take: {experiment.decision.sentence}")
        for note in report.notes:
            self.stdout.write(f"  {note}")
