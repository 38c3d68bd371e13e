from __future__ import annotations

from django.urls import path

from gateway import views

urlpatterns = [
    path("workspaces/<int:pk>/usage/", views.workspace_usage, name="workspace-usage"),
]
