"""REST API for agents (read)."""

from __future__ import annotations

from rest_framework import serializers, viewsets

from agents.models import Agent, AgentVersion


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


class AgentViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Agent.objects.prefetch_related("versions").order_by("name")
    serializer_class = AgentSerializer
