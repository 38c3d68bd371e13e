from __future__ import annotations

from django.urls import path

from knowledge import views

urlpatterns = [
    path("assistants/<int:pk>/knowledge/", views.knowledge_base, name="knowledge-base"),
    path("knowledge/documents/<int:pk>/", views.document_detail, name="knowledge-document-detail"),
]
