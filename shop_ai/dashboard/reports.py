"""The manager's benefit report page and its CSV download (the API's numbers, for a signed-in user)."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from analytics.charts import daily_revenue_chart, forest_plot
from analytics.exports import report_as_csv
from analytics.reports import BenefitReport, BenefitReportError, benefit_report, headline_estimate
from profiles.models import Product
from shop_ai.dashboard.access import shop_view


class ReportWindowForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                            help_text="Default: eight weeks before the end.")
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                          help_text="Default: yesterday.")
    category = forms.ChoiceField(required=False)
    sequential = forms.BooleanField(required=False, label="Always-valid intervals",
                                    help_text="Safe to read every day (mSPRT); wider than fixed-horizon ones.")
    aa = forms.BooleanField(required=False, label="A/A check",
                            help_text="The same pipeline on held-out shoppers split in two: should find nothing.")

    def __init__(self, *args, categories: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "All categories")] + [(c, c) for c in categories]


def _report_from_request(request: HttpRequest) -> tuple[ReportWindowForm, BenefitReport | None, str]:
    categories = sorted(set(Product.objects.filter(shop=request.shop).exclude(category="")
                            .values_list("category", flat=True)))
    form = ReportWindowForm(request.GET or None, categories=categories)
    if request.GET and not form.is_valid():
        return form, None, "Check the dates: write them as YYYY-MM-DD."
    window = form.cleaned_data if request.GET else {}
    try:
        report = benefit_report(shop=request.shop, start=window.get("start"), end=window.get("end"),
                                category=window.get("category") or None, sequential=bool(window.get("sequential")),
                                aa=bool(window.get("aa")))
    except BenefitReportError as problem:
        return form, None, str(problem)
    return form, report, ""


def _forest_rows(report: BenefitReport) -> tuple[list, tuple | None]:
    rows = []
    for row in report.products:
        did = row.difference_in_differences
        if did is not None and did.lift is not None:
            rows.append((row.title[:28], did.lift, did.ci_low, did.ci_high))
    pooled = report.estimates.get("difference_in_differences")
    pooled_row = ("all assisted (pooled)", pooled.lift, pooled.ci_low, pooled.ci_high) \
        if pooled is not None and pooled.lift is not None else None
    return rows, pooled_row


def _with(request: HttpRequest, **values: str) -> str:
    query = request.GET.copy()
    query.update(values)
    return query.urlencode()


def _without(request: HttpRequest, name: str) -> str:
    query = request.GET.copy()
    query.pop(name, None)
    return query.urlencode()


GROUP_NAMES = {"expert": "experts", "shopper": "customers"}


def _profile_rows(report: BenefitReport) -> list:
    """(design, group name, raters, [word profile or None per word]) for the Kansei profile table."""
    rows = []
    for design in report.kansei_profiles:
        for kind, words in sorted(design.groups.items()):
            rows.append((design, GROUP_NAMES.get(kind, kind), design.raters[kind],
                         [words.get(word) for word in report.kansei.words]))
    return rows


def _cuped_rows(report: BenefitReport) -> list:
    """(measure, unadjusted, adjusted, share of variance removed, customers without a pre-period, customers,
    CUPED on capped revenue or None, what the cap is) for the side-by-side table."""
    experiment = report.experiment
    if experiment is None:
        return []
    return [(name, adjusted.unadjusted, adjusted.adjusted, adjusted.variance_removed, adjusted.without_pre_period,
             adjusted.customers, adjusted.capped, adjusted.cap.describe(report.currency) if adjusted.cap else "")
            for name, adjusted in experiment.adjusted.items()]


@shop_view
def benefit_report_page(request: HttpRequest) -> HttpResponse:
    form, report, problem = _report_from_request(request)
    context = {"section": "reports", "form": form, "report": report, "problem": problem}
    if report is not None:
        titles = {row.product_id: row.title for row in report.products}
        lifts, pooled = _forest_rows(report)
        context.update(
            headline=headline_estimate(report),
            revenue_chart=daily_revenue_chart(report.panel, titles=titles, currency=report.currency)
            if report.panel is not None and not report.panel.empty else None,
            forest_chart=forest_plot(lifts, pooled=pooled),
            assisted_rows=[row for row in report.products if row.assisted_from],
            kansei_rows=[(design, [design.cells.get(word) for word in report.kansei.words])
                         for design in report.kansei.designs],
            csv_query=request.GET.urlencode(),
            experiment=report.experiment,
            profile_rows=_profile_rows(report),
            cuped_rows=_cuped_rows(report),
            aa_query=_with(request, aa="1"), sequential_query=_with(request, sequential="1"),
            fixed_query=_without(request, "sequential"), real_query=_without(request, "aa"),
        )
    return render(request, "dashboard/report_benefit.html", context, status=200 if not problem else 400)


@shop_view
def benefit_report_csv(request: HttpRequest) -> HttpResponse:
    _, report, problem = _report_from_request(request)
    if report is None:
        return HttpResponse(problem, status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(report_as_csv(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="benefit-{report.start}-{report.end}.csv"'
    return response
