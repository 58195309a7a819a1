"""POST /twilio/status/: Twilio's call status callbacks. Implemented by the outbound campaigns issue."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@csrf_exempt
@require_POST
def status_webhook(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=501)
