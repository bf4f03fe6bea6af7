from django.urls import path

from generation import api

urlpatterns = [
    path("generation-jobs", api.GenerationJobsView.as_view(), name="generation-jobs"),
    path("generation-jobs/<int:job_id>", api.GenerationJobView.as_view(), name="generation-job"),
    path("generation-jobs/<int:job_id>/cancel", api.GenerationJobCancelView.as_view(), name="generation-job-cancel"),
    path("products/<str:product_id>/cutout", api.ProductCutoutView.as_view(), name="product-cutout"),
    path("products/<str:product_id>/cutout/confirm", api.ProductCutoutConfirmView.as_view(),
         name="product-cutout-confirm"),
    path("listings", api.ListingsView.as_view(), name="listings"),
    path("listings/<int:listing_id>/approve", api.ListingApproveView.as_view(), name="listing-approve"),
    path("listings/<int:listing_id>/publish", api.ListingPublishView.as_view(), name="listing-publish"),
    path("listings/<int:listing_id>/retire", api.ListingRetireView.as_view(), name="listing-retire"),
    path("storefront/products/<str:product_id>", api.StorefrontProductView.as_view(), name="storefront-product"),
    path("browser/products/<str:product_id>", api.BrowserProductView.as_view(), name="browser-product"),
]
