from django.urls import path

from analytics import api

urlpatterns = [
    path("reports/benefit", api.BenefitReportView.as_view(), name="reports-benefit"),
    path("kansei-ratings", api.KanseiRatingsView.as_view(), name="kansei-ratings"),
]
