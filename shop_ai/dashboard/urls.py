from django.urls import path

from shop_ai.dashboard import (
    connections,
    dead_letters,
    generation,
    kansei,
    listings,
    overview,
    personas,
    reports,
    settings,
)

app_name = "dashboard"

urlpatterns = [
    path("", overview.overview, name="overview"),
    path("shop/", overview.shop_switch, name="shop-switch"),
    path("personas/", personas.persona_list, name="personas"),
    path("personas/<int:persona_id>/", personas.persona_detail, name="persona"),
    path("generation/", generation.generation_page, name="generation"),
    path("generation/progress.json", generation.job_progress, name="job-progress"),
    path("generation/jobs/<int:job_id>/", generation.job_page, name="job"),
    path("generation/jobs/<int:job_id>/regenerate/", generation.job_regenerate, name="job-regenerate"),
    path("generation/jobs/<int:job_id>/cutout/", generation.job_cutout, name="job-cutout"),
    path("generation/jobs/<int:job_id>/cutout/confirm/", generation.job_cutout_confirm, name="job-cutout-confirm"),
    path("listings/", listings.listing_list, name="listings"),
    path("listings/<int:listing_id>/<slug:action>/", listings.listing_move, name="listing-move"),
    path("reports/benefit/", reports.benefit_report_page, name="report-benefit"),
    path("reports/benefit.csv", reports.benefit_report_csv, name="report-benefit-csv"),
    path("kansei/", kansei.kansei_survey_list, name="kansei-surveys"),
    path("kansei/<int:survey_id>/close/", kansei.kansei_survey_close_view, name="kansei-survey-close"),
    path("failed-jobs/", dead_letters.dead_letter_list, name="dead-letters"),
    path("failed-jobs/replay-all/", dead_letters.dead_letters_replay_all_view, name="dead-letters-replay-all"),
    path("failed-jobs/<int:letter_id>/replay/", dead_letters.dead_letter_replay_view, name="dead-letter-replay"),
    path("settings/", settings.settings_page, name="settings"),
    path("settings/api-keys/", settings.api_key_new, name="api-key-create"),
    path("settings/experiment/", settings.experiment_settings_view, name="experiment-settings"),
    path("settings/api-keys/new/", settings.api_key_shown, name="api-key-shown"),
    path("settings/api-keys/<int:key_id>/revoke/", settings.api_key_revoke_view, name="api-key-revoke"),
    path("settings/webhook-secret/rotate/", connections.webhook_secret_rotate_view, name="webhook-secret-rotate"),
    path("settings/origins/", connections.allowed_origins_view, name="allowed-origins"),
    path("settings/shopify-secret/", connections.shopify_secret_view, name="shopify-secret"),
    path("settings/webhooks/", connections.webhook_endpoint_new, name="webhook-endpoint-create"),
    path("settings/webhooks/<int:endpoint_id>/disable/", connections.webhook_endpoint_disable_view,
         name="webhook-endpoint-disable"),
]
