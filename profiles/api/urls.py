from django.urls import path

from profiles.api import connect_views, persona_views, views

urlpatterns = [
    path("events/batch", views.EventBatchView.as_view(), name="events-batch"),
    path("events", views.EventView.as_view(), name="events"),
    path("events/<str:event_id>", views.EventDetailView.as_view(), name="event-detail"),
    path("failed-events", views.FailedEventListView.as_view(), name="failed-events"),
    path("products/<str:product_id>", views.ProductView.as_view(), name="product"),
    path("personas", persona_views.PersonaListView.as_view(), name="personas"),
    path("personas/<int:persona_id>", persona_views.PersonaDetailView.as_view(), name="persona-detail"),
    path("customers/<str:customer_id>/profile", persona_views.CustomerProfileView.as_view(), name="customer-profile"),
    path("webhooks/<str:source>", connect_views.WebhookView.as_view(), name="webhooks"),
    path("browser/events", connect_views.BrowserEventsView.as_view(), name="browser-events"),
]
