"""POST /twilio/voice/: Twilio's answer webhook. Implemented by the live call engine issue."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@csrf_exempt
@require_POST
def voice_webhook(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=501)
