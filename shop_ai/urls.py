from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from analytics import pages as kansei_pages
from generation import pages as store_pages
from shop_ai import pages
from shop_ai.integrations.browser.views import snippet

api_v1 = [
    path("", include("profiles.api.urls")),
    path("", include("generation.urls")),
    path("", include("analytics.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),  # first: the API answers most requests, and is resolved first
    path("", pages.home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("dashboard/", include("shop_ai.dashboard.urls")),
    path("store/<int:shop_id>/", store_pages.store_index, name="store-index"),
    path("store/<int:shop_id>/products/<str:product_id>", store_pages.store_product, name="store-product"),
    path("snippet/shop-ai.js", snippet, name="snippet"),
    path("kansei/<str:token>/", kansei_pages.kansei_survey_page, name="kansei-survey"),
] + static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler404 = "shop_ai.pages.not_found"
handler500 = "shop_ai.pages.server_error"
