from django.contrib import admin

from calendars.models import Appointment, Calendar


@admin.register(Calendar)
class CalendarAdmin(admin.ModelAdmin):
    list_display = ("name", "timezone", "slot_minutes", "min_notice_minutes", "horizon_days")
    search_fields = ("name",)


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ("calendar", "start", "end", "status", "lead", "call_id")
    list_filter = ("calendar", "status")
    raw_id_fields = ("lead",)
    readonly_fields = ("call_id", "created_at")
