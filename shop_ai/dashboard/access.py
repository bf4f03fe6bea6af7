"""Which shop a dashboard request works on: one of the signed-in user's shops, remembered in the session."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from profiles.models import Shop
from shop_ai.dashboard.selectors import user_shops

SESSION_KEY = "dashboard_shop_id"


def shop_chosen(*, request: HttpRequest, shops: list[Shop]) -> Shop:
    chosen = request.session.get(SESSION_KEY)
    return next((shop for shop in shops if shop.id == chosen), shops[0])


def shop_remember(*, request: HttpRequest, shop: Shop) -> None:
    request.session[SESSION_KEY] = shop.id


def shop_view(view):
    """Login required; sets `request.shop` (the shop every query is scoped by) and `request.shops`
    (for the switcher). A user who belongs to no shop gets a page saying how to get access."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        shops = user_shops(user=request.user)
        if not shops:
            return render(request, "dashboard/no_shop.html", status=403)
        request.shops = shops
        request.shop = shop_chosen(request=request, shops=shops)
        return view(request, *args, **kwargs)

    return wrapper
