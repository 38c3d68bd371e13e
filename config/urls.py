from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from builder.api.urls import urlpatterns as builder_api
from gateway.api import urlpatterns as gateway_api
from knowledge.api import urlpatterns as knowledge_api
from runtime.api import urlpatterns as runtime_api

urlpatterns = [
    path("", include("builder.urls")),
    path("", include("gateway.urls")),
    path("", include("runtime.urls")),
    path("", include("knowledge.urls")),
    path("api/", include(([*builder_api, *gateway_api, *runtime_api, *knowledge_api], "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

handler404 = "builder.api.errors.page_not_found"
