"""The rater's Kansei survey page: a link with a token, no login, one design at a time, six sliders."""

from __future__ import annotations

import secrets

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from analytics.kansei_surveys import (
    WORD_LABELS,
    KanseiSurveyError,
    KanseiSurveyNotFound,
    kansei_survey_by_token,
    kansei_survey_submit,
    next_design,
)
from analytics.models import KANSEI_SCALE

RATER_COOKIE = "kansei_rater"
COOKIE_AGE = 365 * 24 * 3600


def _rater(request: HttpRequest) -> tuple[str, bool]:
    """The rater's anonymous id from a signed cookie (new: made here and set on the response)."""
    rater = request.get_signed_cookie(RATER_COOKIE, default=None, salt="kansei")
    return (rater, False) if rater else (secrets.token_hex(12), True)


def _image_url(design) -> str | None:
    image = design.listing.image.best_file if design.listing_id else design.product.image
    return image.url if image else None


@require_http_methods(["GET", "POST"])
def kansei_survey_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        survey = kansei_survey_by_token(token=token)
    except KanseiSurveyNotFound as problem:
        return render(request, "kansei/survey.html", {"problem": str(problem)}, status=404)
    rater, new = _rater(request)
    problem, status = "", 200
    if request.method == "POST":
        design_id = request.POST.get("design", "")
        try:
            kansei_survey_submit(survey=survey, design_id=int(design_id) if design_id.isdigit() else 0, rater=rater,
                                 scores={word: request.POST.get(word) for word in WORD_LABELS})
        except KanseiSurveyError as error:
            problem, status = str(error), 400
        else:
            response = redirect("kansei-survey", token=token)
            _remember(response, rater, new)
            return response
    design = next_design(survey=survey, rater=rater) if survey.is_open else None
    done = survey.designs.filter(submissions__rater=rater).count()
    context = {"survey": survey, "design": design, "image_url": _image_url(design) if design else None,
               "words": [(word, zh, en) for word, (zh, en) in WORD_LABELS.items()], "scale": KANSEI_SCALE,
               "middle": sum(KANSEI_SCALE) // 2, "problem": problem, "done": done,
               "total": survey.designs.count()}
    response = render(request, "kansei/survey.html", context, status=status)
    _remember(response, rater, new)
    return response


def _remember(response: HttpResponse, rater: str, new: bool) -> None:
    if new:
        response.set_signed_cookie(RATER_COOKIE, rater, salt="kansei", max_age=COOKIE_AGE, httponly=True,
                                   samesite="Lax")
