"""Kansei surveys: the owner makes one per product (its original and persona variants) and shares its link."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from analytics.kansei_surveys import (
    KanseiSurveyError,
    KanseiSurveyNotFound,
    kansei_survey_close,
    kansei_survey_create,
    survey_products,
    surveys_of,
)
from analytics.models import RaterKind
from shop_ai.dashboard.access import shop_view


class SurveyForm(forms.Form):
    product = forms.ChoiceField(help_text="The survey shows its original and every published persona variant.")
    rater_kind = forms.ChoiceField(choices=[(RaterKind.SHOPPER, "Customers"), (RaterKind.EXPERT, "Experts")],
                                   label="Who rates", help_text="Give experts and customers separate links.")
    title = forms.CharField(required=False, max_length=200, help_text="Optional: what raters see at the top.")

    def __init__(self, *args, products, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [(p.external_id, f"{p.external_id} · {p.title}") for p in products]


@shop_view
def kansei_survey_list(request: HttpRequest) -> HttpResponse:
    form = SurveyForm(request.POST or None, products=survey_products(shop=request.shop))
    if request.method == "POST" and form.is_valid():
        try:
            survey = kansei_survey_create(shop=request.shop, product_external_id=form.cleaned_data["product"],
                                          rater_kind=form.cleaned_data["rater_kind"], title=form.cleaned_data["title"])
        except KanseiSurveyError as problem:
            form.add_error(None, str(problem))
        else:
            messages.success(request, f"Survey “{survey.title}” made with {survey.designs.count()} designs: "
                                      "share its link.")
            return redirect("dashboard:kansei-surveys")
    surveys = [(survey, request.build_absolute_uri(reverse("kansei-survey", args=[survey.token])))
               for survey in surveys_of(shop=request.shop)]
    return render(request, "dashboard/kansei_surveys.html", {"form": form, "surveys": surveys, "section": "kansei"},
                  status=400 if form.errors else 200)


@require_POST
@shop_view
def kansei_survey_close_view(request: HttpRequest, survey_id: int) -> HttpResponse:
    try:
        survey = kansei_survey_close(shop=request.shop, survey_id=survey_id)
    except KanseiSurveyNotFound as problem:
        raise Http404(str(problem)) from problem
    messages.success(request, f"Survey “{survey.title}” closed: its link takes no more ratings.")
    return redirect("dashboard:kansei-surveys")
