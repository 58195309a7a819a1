"""stt.language is a language Whisper knows, and an English-only speech model refuses any other.

One rule (agents.brains.config), run by AgentVersion.clean, which the version
services, the console editor and the admin all go through. The server's
STT_MODEL counts for agents that do not name a model of their own.
"""

import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from agents.brains.config import WHISPER_LANGUAGES, ConfigError, load_config, stt_model_is_english_only
from agents.models import AgentVersion
from agents.services import agent_version_create_draft, agent_version_publish
from tests.factories import AgentFactory

SPANISH = {"greeting": "Hola.", "stt": {"language": "es"}}
ENGLISH_ONLY = "the speech model tiny.en only understands English"


@pytest.mark.parametrize(
    ("model", "english_only"),
    [
        ("tiny.en", True),
        ("distil-medium.en", True),
        ("Systran/faster-whisper-base.en", True),
        ("/models/whisper-small.en/", True),
        ("distil-large-v3", True),  # distilled on English only, though its name does not say so
        ("Systran/faster-distil-whisper-large-v3", True),
        ("small", False),
        ("large-v3", False),
        ("turbo", False),
        ("/models/whisper-large-v3-french-distil", False),
    ],
)
def test_english_only_models_are_known_by_name(model, english_only):
    assert stt_model_is_english_only(model) is english_only


@pytest.mark.parametrize("language", ["english", "EN", "", "xx"])
def test_a_language_whisper_does_not_know_is_refused(language):
    with pytest.raises(ConfigError) as caught:
        load_config({"stt": {"language": language}})
    assert caught.value.errors == {"stt.language": ["must be a language code Whisper knows, such as en, es or de"]}


def test_an_english_only_model_refuses_another_language():
    # The server's model, for an agent without its own.
    with pytest.raises(ConfigError) as caught:
        load_config(SPANISH, stt_model="tiny.en")
    assert list(caught.value.errors) == ["stt.language"]
    assert caught.value.errors["stt.language"][0].startswith(ENGLISH_ONLY)
    # The agent's own model, whatever the server runs.
    with pytest.raises(ConfigError, match=r"the speech model base\.en only understands English"):
        load_config({"stt": {"model": "base.en", "language": "de"}}, stt_model="large-v3")


def test_english_on_any_model_and_other_languages_on_multilingual_ones_are_accepted():
    assert load_config({"stt": {"language": "en"}}, stt_model="tiny.en").stt.language == "en"
    assert load_config(SPANISH, stt_model="small").stt.language == "es"
    # The agent's own multilingual model overrides the server's English-only default.
    assert load_config({"stt": {"model": "large-v3", "language": "es"}}, stt_model="tiny.en").stt.model == "large-v3"


@pytest.mark.django_db
def test_the_version_services_refuse_it_with_the_servers_model(settings):
    agent = AgentFactory()
    settings.STT_MODEL = "tiny.en"
    with pytest.raises(ValidationError) as caught:
        agent_version_create_draft(agent=agent, config=SPANISH)
    assert caught.value.message_dict["config"][0].startswith(f"stt.language: {ENGLISH_ONLY}")
    assert not AgentVersion.objects.filter(agent=agent).exists()

    settings.STT_MODEL = "small"
    draft = agent_version_create_draft(agent=agent, config=SPANISH)
    # The server moved to an English-only model before this draft went live: it is not published.
    settings.STT_MODEL = "tiny.en"
    with pytest.raises(ValidationError, match="only understands English"):
        agent_version_publish(version=draft)
    draft.refresh_from_db()
    assert not draft.is_published


@pytest.mark.django_db
def test_the_console_editor_shows_it_on_the_field(operator_client, settings):
    settings.STT_MODEL = "tiny.en"
    agent = AgentFactory()
    draft = agent_version_create_draft(agent=agent, config={"greeting": "Hi."})
    response = operator_client.post(reverse("agents:edit", args=[draft.pk]), {"config": json.dumps(SPANISH)})
    assert response.status_code == 400
    assert f"stt.language: {ENGLISH_ONLY}" in response.text
    draft.refresh_from_db()
    assert draft.config == {"greeting": "Hi."}


@pytest.mark.django_db
def test_the_admin_refuses_it_too(operator_client, settings):
    settings.STT_MODEL = "tiny.en"
    agent = AgentFactory()
    response = operator_client.post(
        reverse("admin:agents_agentversion_add"),
        {"agent": agent.pk, "number": 1, "config": json.dumps(SPANISH), "notes": ""},
    )
    assert response.status_code == 200  # the form again, with the error
    assert ENGLISH_ONLY in response.text
    assert not AgentVersion.objects.filter(agent=agent).exists()


def test_the_language_table_is_the_one_whisper_uses():
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    assert set(_LANGUAGE_CODES) == WHISPER_LANGUAGES
