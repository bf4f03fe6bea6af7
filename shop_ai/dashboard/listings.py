"""Listings: what is live for whom, and the approve / publish / retire buttons."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from generation.models import Listing
from generation.services import ListingConflict, listing_approve, listing_publish, listing_retire
from shop_ai.dashboard.access import shop_view
from shop_ai.dashboard.forms import ListingFilterForm
from shop_ai.dashboard.generation import actor_of
from shop_ai.dashboard.selectors import listing_counts, listings_filtered

PAGE_SIZE = 50
MOVES = {"approve": (listing_approve, "approved"), "publish": (listing_publish, "published"),
         "retire": (listing_retire, "retired")}


@shop_view
def listing_list(request: HttpRequest) -> HttpResponse:
    form = ListingFilterForm(request.GET or None)
    status = form.cleaned_data["status"] if form.is_valid() else ""
    page = Paginator(listings_filtered(shop=request.shop, status=status or None), PAGE_SIZE).get_page(
        request.GET.get("page"))
    context = {"form": form, "status": status, "page": page, "counts": listing_counts(shop=request.shop),
               "section": "listings"}
    return render(request, "dashboard/listings.html", context)


@require_POST
@shop_view
def listing_move(request: HttpRequest, listing_id: int, action: str) -> HttpResponse:
    if action not in MOVES:
        raise Http404(f"Listings can be {', '.join(MOVES)}d, not {action}d.")
    service, done = MOVES[action]
    listing = get_object_or_404(Listing, shop=request.shop, id=listing_id)
    try:
        listing = service(listing=listing, actor=actor_of(request), user=request.user)
    except ListingConflict as exc:
        messages.error(request, f"“{listing.title}” was not {done}: {exc}")
    else:
        messages.success(request, f"“{listing.title}” is now {done}.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = "dashboard:listings"
    return redirect(target)
