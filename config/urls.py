from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from builder.api.urls import urlpatterns as builder_api
from chat.api import urlpatterns as chat_api

urlpatterns = [
    path("", include("builder.urls")),
    path("", include("chat.urls")),
    path("api/", include(([*builder_api, *chat_api], "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

handler404 = "core.api.errors.page_not_found"
