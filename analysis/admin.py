from django.contrib import admin

from analysis.models import CallAnalysis, ModelExchange


@admin.register(CallAnalysis)
class CallAnalysisAdmin(admin.ModelAdmin):
    list_display = ("call", "status", "method", "sentiment", "success", "analyzed_at")
    list_filter = ("status", "method", "sentiment", "success")
    readonly_fields = [f.name for f in CallAnalysis._meta.fields]


@admin.register(ModelExchange)
class ModelExchangeAdmin(admin.ModelAdmin):
    list_display = ("call", "kind", "model", "created_at", "redacted")
    list_filter = ("kind",)
    readonly_fields = [f.name for f in ModelExchange._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False
