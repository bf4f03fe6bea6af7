"""The personas: a list, and one page each with its words, demands, viewpoints and charts."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from profiles.models import Persona
from profiles.personas.charts import DEMAND_LABELS
from profiles.shop_sentiment import shop_sentiment_status
from shop_ai.dashboard.access import shop_view
from shop_ai.dashboard.selectors import personas_live
from shop_ai.dashboard.svg_charts import customer_map_svg, weekly_behaviour_svg


def _shares(values: dict[str, float], labels: dict[str, str] | None = None) -> list[dict]:
    """[{label, value, percent of the largest}] largest first, for CSS bars."""
    top = max(values.values(), default=0) or 1
    rows = [{"label": (labels or {}).get(key, key), "code": key, "value": value, "width": round(100 * value / top)}
            for key, value in values.items()]
    return sorted(rows, key=lambda row: -row["value"])


@shop_view
def persona_list(request: HttpRequest) -> HttpResponse:
    personas = personas_live(shop=request.shop)
    rows = [{"persona": persona, "keywords": [word for word, _ in persona.top_keywords[:4]],
             "demand": _shares(persona.demand_mix, DEMAND_LABELS)[:1]} for persona in personas]
    return render(request, "dashboard/personas.html", {"rows": rows, "section": "personas",
                                                       "sentiment": shop_sentiment_status(shop=request.shop)})


@shop_view
def persona_detail(request: HttpRequest, persona_id: int) -> HttpResponse:
    persona = get_object_or_404(Persona, shop=request.shop, id=persona_id)
    context = {
        "persona": persona,
        "keywords": _shares(dict(persona.top_keywords[:15])),
        "demand": _shares(persona.demand_mix, DEMAND_LABELS),
        "kansei": _shares(persona.kansei),
        "sentiment_percent": round(100 * persona.sentiment) if persona.sentiment is not None else None,
        "weekly_svg": weekly_behaviour_svg(shop=request.shop),
        "map_svg": customer_map_svg(shop=request.shop, persona=persona),
        "section": "personas",
    }
    return render(request, "dashboard/persona.html", context)
