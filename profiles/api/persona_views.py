"""Personas and customer profiles, read-only."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from profiles.api import serializers as s
from profiles.api.auth import request_shop
from profiles.models import Customer, CustomerProfile, Persona, ReviewAnalysis
from profiles.selectors import live_personas

RECENT_REVIEWS = 10


class PersonaListView(APIView):
    @extend_schema(operation_id="personas_list", responses={200: s.PersonaOutput(many=True)})
    def get(self, request):
        return Response(s.PersonaOutput(live_personas(shop=request_shop(request)), many=True).data)


class PersonaDetailView(APIView):
    @extend_schema(operation_id="personas_retrieve", responses={200: s.PersonaDetailOutput, 404: s.ErrorSchema})
    def get(self, request, persona_id: int):
        persona = get_object_or_404(Persona, shop=request_shop(request), id=persona_id)
        return Response(s.PersonaDetailOutput(persona).data)


class CustomerProfileView(APIView):
    @extend_schema(operation_id="customers_profile", responses={200: s.CustomerProfileOutput, 404: s.ErrorSchema})
    def get(self, request, customer_id: str):
        shop = request_shop(request)
        customer = get_object_or_404(Customer, shop=shop, external_id=customer_id)
        profile = CustomerProfile.objects.filter(shop=shop, customer=customer).select_related("persona").first()
        reviews = (ReviewAnalysis.objects.filter(shop=shop, customer=customer).select_related("event")
                   .order_by("-event__occurred_at")[:RECENT_REVIEWS])
        body = {
            "customer_id": customer.external_id, "first_seen_at": customer.first_seen_at,
            "last_seen_at": customer.last_seen_at, "profiled_at": customer.profiled_at,
            "persona": profile.persona if profile else None,
            "keywords": [[word, weight] for word, weight in (profile.keywords.items() if profile else [])],
            "demand_mix": profile.demand_mix if profile else {},
            "sentiment": profile.sentiment if profile else None,
            "event_count": profile.event_count if profile else customer.events.count(),
            "recent_reviews": reviews,
        }
        return Response(s.CustomerProfileOutput(body).data)
