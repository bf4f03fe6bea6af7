from django.urls import path

from profiles.api import views

urlpatterns = [
    path("events/batch", views.EventBatchView.as_view(), name="events-batch"),
    path("events", views.EventView.as_view(), name="events"),
    path("events/<str:event_id>", views.EventDetailView.as_view(), name="event-detail"),
    path("failed-events", views.FailedEventListView.as_view(), name="failed-events"),
    path("products/<str:product_id>", views.ProductView.as_view(), name="product"),
]
