"""Settings load in fresh interpreters so each environment is seen from scratch."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _settings(env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", f"import voiceops.settings as s; {code}"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_no_environment_means_embedded_defaults(tmp_path):
    result = _settings(
        {"VOICEOPS_VAR_DIR": str(tmp_path)},
        "print(s.DATABASES['default']['ENGINE'], s.CHANNEL_LAYERS['default']['BACKEND'], "
        "s.CELERY_TASK_ALWAYS_EAGER, s.DEBUG)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "channels.layers.InMemoryChannelLayer",
        "True",
        "False",
    ]


def test_database_and_redis_urls_switch_to_postgres_and_redis(tmp_path):
    result = _settings(
        {
            "VOICEOPS_VAR_DIR": str(tmp_path),
            "SECRET_KEY": "k" * 50,
            "DATABASE_URL": "postgres://u:p@db.internal:5432/voiceops",
            "REDIS_URL": "redis://cache.internal:6379/0",
        },
        "print(s.DATABASES['default']['ENGINE'], s.CHANNEL_LAYERS['default']['BACKEND'], s.CELERY_TASK_ALWAYS_EAGER)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "channels_redis.core.RedisChannelLayer",
        "False",
    ]


def test_production_without_secret_key_refuses_to_start(tmp_path):
    result = _settings(
        {"VOICEOPS_VAR_DIR": str(tmp_path), "DATABASE_URL": "postgres://u:p@db/voiceops"}, "print('started')"
    )
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_bad_values_stop_start_up_with_the_variable_named(tmp_path):
    for env, message in [
        ({"STT_DEVICE": "tpu"}, "STT_DEVICE must be one of"),
        ({"DEBUG": "perhaps"}, "DEBUG must be a boolean"),
        ({"LLM_BASE_URLS": "http://a:8000/v1,notaurl"}, "LLM_BASE_URLS must be a URL"),
        ({"PUBLIC_BASE_URL": "voice.example.com"}, "PUBLIC_BASE_URL must be a URL"),
    ]:
        result = _settings({"VOICEOPS_VAR_DIR": str(tmp_path), **env}, "print('started')")
        assert result.returncode != 0, env
        assert message in result.stderr, result.stderr


def test_check_deploy_is_clean_in_a_production_like_environment(tmp_path):
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    env.update(
        {
            "VOICEOPS_VAR_DIR": str(tmp_path),
            "SECRET_KEY": "Vq3#kP9x!mZ2rT7wYb5nL0cHd8sF4gJ6-aE1uQyRiOoWzXvN-long-enough-key",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/voiceops",
            "REDIS_URL": "redis://127.0.0.1:6379/15",
            "PUBLIC_BASE_URL": "https://voice.example.com",
            "DJANGO_SETTINGS_MODULE": "voiceops.settings",
        }
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_smart_turn_defaults_to_the_fetched_model_and_an_empty_value_turns_it_off(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    code = "print(repr(s.SMART_TURN_MODEL))"
    env = {"VOICEOPS_VAR_DIR": str(tmp_path), "VOICEOPS_MODELS_DIR": str(models)}

    none_yet = _settings(env, code)
    assert none_yet.returncode == 0, none_yet.stderr
    assert none_yet.stdout.strip() == "''"  # nothing fetched: the words alone decide

    (models / "smart-turn-v3.2-cpu.onnx").write_bytes(b"onnx")
    fetched = _settings(env, code)
    assert fetched.stdout.strip() == repr(str(models / "smart-turn-v3.2-cpu.onnx"))

    off = _settings({**env, "SMART_TURN_MODEL": ""}, code)
    assert off.stdout.strip() == "''"

    missing = _settings({**env, "SMART_TURN_MODEL": str(tmp_path / "nowhere.onnx")}, code)
    assert missing.returncode != 0
    assert "SMART_TURN_MODEL: no file at" in missing.stderr
