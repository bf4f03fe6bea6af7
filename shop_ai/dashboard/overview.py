"""The overview page and the shop switcher."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from shop_ai.dashboard.access import shop_remember, shop_view
from shop_ai.dashboard.selectors import cutouts_awaiting_check, overview_for
from shop_ai.dashboard.svg_charts import day_bars


@shop_view
def overview(request: HttpRequest) -> HttpResponse:
    numbers = overview_for(shop=request.shop)
    cutouts = cutouts_awaiting_check(shop=request.shop) if numbers.cutouts_waiting else []
    return render(request, "dashboard/overview.html", {"overview": numbers, "chart": day_bars(numbers.events),
                                                       "cutouts": cutouts, "section": "overview"})


@require_POST
@shop_view
def shop_switch(request: HttpRequest) -> HttpResponse:
    shop = next((shop for shop in request.shops if str(shop.id) == request.POST.get("shop")), None)
    if shop is None:
        raise Http404("You are not a member of that shop.")
    shop_remember(request=request, shop=shop)
    return redirect("dashboard:overview")
