from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from gateway.models import Attempt, Call, LlmModel, Provider


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ["key", "kind", "base_url", "api_key_env"]


@admin.register(LlmModel)
class LlmModelAdmin(admin.ModelAdmin):
    list_display = ["key", "provider", "input_price", "output_price", "context_window", "fallback"]
    list_editable = ["input_price", "output_price"]


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    readonly_fields = [field.name for field in Attempt._meta.fields]


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    """The ledger is a record of what happened: read-only."""

    list_display = ["created_at", "purpose", "assistant", "outcome", "error_kind"]
    list_filter = ["purpose", "outcome"]
    readonly_fields = [field.name for field in Call._meta.fields]
    inlines = [AttemptInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Call | None = None) -> bool:
        return False
