"""Dead letters: the shop's background jobs that failed for good, and a button to run them again."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from shop_ai.dashboard.access import shop_view
from shop_ai.dead_letters import (
    ReplayRefused,
    dead_letter_get,
    dead_letter_replay,
    dead_letter_summary,
    dead_letters_list,
    dead_letters_replay_all,
)

SHOWN = 200


@shop_view
def dead_letter_list(request: HttpRequest) -> HttpResponse:
    letters = list(dead_letters_list(shop=request.shop, include_replayed=True)[:SHOWN])
    for letter in letters:
        letter.summary = dead_letter_summary(letter)
    waiting = sum(1 for letter in letters if letter.replayed_at is None)
    return render(request, "dashboard/dead_letters.html",
                  {"letters": letters, "waiting": waiting, "section": "dead-letters"})


@require_POST
@shop_view
def dead_letter_replay_view(request: HttpRequest, letter_id: int) -> HttpResponse:
    letter = dead_letter_get(letter_id=letter_id, shop=request.shop)
    if letter is None:
        raise Http404("No such dead letter in this shop.")
    try:
        dead_letter_replay(letter=letter)
    except ReplayRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{dead_letter_summary(letter)} was sent again.")
    return redirect("dashboard:dead-letters")


@require_POST
@shop_view
def dead_letters_replay_all_view(request: HttpRequest) -> HttpResponse:
    replayed = dead_letters_replay_all(shop=request.shop)
    messages.success(request, f"{len(replayed)} failed job(s) sent again.")
    return redirect("dashboard:dead-letters")
