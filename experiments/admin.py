from django.contrib import admin

from experiments.models import Assignment, Experiment, Variant


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ("name", "agent", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("name",)
    inlines = [VariantInline]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("experiment", "variant", "lead", "assigned_at")
    list_filter = ("experiment",)
    raw_id_fields = ("lead",)
