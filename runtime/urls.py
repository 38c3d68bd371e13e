from __future__ import annotations

from django.urls import path

from runtime import views

urlpatterns = [
    path("demo/", views.demo, name="demo"),
    path("assistants/<int:pk>/transcripts/", views.transcript_list, name="transcript-list"),
    path("transcripts/<uuid:pk>/", views.transcript_detail, name="transcript-detail"),
]
