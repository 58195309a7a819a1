from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from agents.api import AgentViewSet
from analysis.api import CallAnalysisRerunView, CallAnalysisView, CallModelIoView
from analytics.api import analytics_report, analytics_report_csv
from calls.api import CallViewSet
from campaigns.api import CampaignViewSet, LeadViewSet
from experiments.api import ExperimentViewSet
from voiceops.security import API_DOCS_POLICY, csp_override
from webhooks.api import EndpointViewSet

router = DefaultRouter()
router.register("agents", AgentViewSet, basename="agent")
router.register("leads", LeadViewSet, basename="lead")
router.register("calls", CallViewSet, basename="call")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("experiments", ExperimentViewSet, basename="experiment")
router.register("webhooks", EndpointViewSet, basename="webhook")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file (?script), not inline.
    path(
        "api/docs/",
        csp_override(API_DOCS_POLICY)(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path("api/calls/<uuid:call_id>/analysis/", CallAnalysisView.as_view(), name="api-call-analysis"),
    path("api/calls/<uuid:call_id>/analysis/rerun/", CallAnalysisRerunView.as_view(), name="api-call-analysis-rerun"),
    path("api/calls/<uuid:call_id>/model-io/", CallModelIoView.as_view(), name="api-call-model-io"),
    path("api/analytics/<slug:report>/", analytics_report, name="api-analytics"),
    path("api/analytics/<slug:report>/csv/", analytics_report_csv, name="api-analytics-csv"),
    path("api/", include(router.urls)),
    path("twilio/", include("telephony.urls")),
    # The simulated carrier (Twilio's REST protocol); 404 unless SIMULATED_CARRIER.
    path("carrier/", include("sandbox.carrier")),
    path("agents/", include("agents.urls")),
    path("experiments/", include("experiments.urls")),
    path("analytics/", include("analytics.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("analysis/", include("analysis.urls")),
    path("", include("calls.urls")),
]
