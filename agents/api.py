"""REST API for agents: read agents with their versions, create a draft version, publish a version.

Writes go through agents.services, as the console's do: the same validation
(AgentVersion.clean on the configuration), the same immutability of a
published version, and an audit entry for every publish.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.models import Agent, AgentVersion
from agents.services import VersionAlreadyPublished, agent_version_create_draft, agent_version_publish
from audit import verbs
from audit.services import audit_record
from voiceops.api_filters import INT_PATTERN

# The console's right to edit and publish versions (agents/views.py WRITE): operators and admins.
VERSION_WRITE = "agents.change_agentversion"


class MayWriteVersions(BasePermission):
    message = f"Your role does not allow this ({VERSION_WRITE})."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.has_perm(VERSION_WRITE))


class AgentVersionSerializer(serializers.ModelSerializer):
    is_published = serializers.BooleanField(read_only=True)

    class Meta:
        model = AgentVersion
        fields = ["id", "number", "notes", "config", "created_at", "published_at", "is_published"]


class AgentSerializer(serializers.ModelSerializer):
    versions = AgentVersionSerializer(many=True, read_only=True)

    class Meta:
        model = Agent
        fields = ["id", "name", "description", "created_at", "updated_at", "versions"]


class DraftSerializer(serializers.Serializer):
    config = serializers.JSONField(help_text="The version's configuration (README: Agents, versions and flows).")
    notes = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


def _field_errors(exc: DjangoValidationError) -> serializers.ValidationError:
    if hasattr(exc, "error_dict"):
        return serializers.ValidationError(exc.message_dict)
    return serializers.ValidationError({"config": exc.messages})


class AgentViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = AgentSerializer
    lookup_value_regex = INT_PATTERN

    def get_queryset(self) -> QuerySet[Agent]:
        return Agent.objects.prefetch_related("versions").order_by("name")

    @extend_schema(request=DraftSerializer, responses={201: AgentVersionSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated, MayWriteVersions])
    def versions(self, request: Request, pk: str) -> Response:
        """Create a draft version (numbered after the agent's highest), validated as the console's editor is."""
        agent = self.get_object()
        payload = DraftSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            draft = agent_version_create_draft(
                agent=agent, config=payload.validated_data["config"], notes=payload.validated_data["notes"]
            )
        except DjangoValidationError as exc:
            raise _field_errors(exc) from None
        return Response(AgentVersionSerializer(draft).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: AgentVersionSerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path=r"versions/(?P<number>[0-9]+)/publish",
        permission_classes=[IsAuthenticated, MayWriteVersions],
    )
    def publish(self, request: Request, pk: str, number: str) -> Response:
        """Publish a draft: it becomes the agent's live version and never changes again (409 if already published)."""
        version = get_object_or_404(
            AgentVersion.objects.select_related("agent"), agent=self.get_object(), number=int(number)
        )
        try:
            version = agent_version_publish(version=version)
        except VersionAlreadyPublished as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except DjangoValidationError as exc:
            raise _field_errors(exc) from None
        audit_record(
            actor=request.user, verb=verbs.PUBLISHED, target=version, summary=f"{version.agent.name} v{version.number}"
        )
        return Response(AgentVersionSerializer(version).data)
