"""The settings profiles: production fails closed and passes Django's deployment checks; logs carry the request
id; the client's address is read behind the configured proxies."""

import io
import json
import logging
import logging.config
import os
import secrets
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.test import RequestFactory

from system.urls_util import client_ip

ROOT = Path(__file__).resolve().parent.parent.parent


def run_django(code: str, **environment) -> subprocess.CompletedProcess:
    # Not the test process's own switches (the browser tests set DJANGO_ALLOW_ASYNC_UNSAFE, which check --deploy
    # rightly refuses).
    unset = ("SECRET_KEY", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(
        [sys.executable, "-c", code], env=env | environment, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def production(**environment):
    return {"DJANGO_SETTINGS_MODULE": "loyalty_site.settings.production", **environment}


def test_production_deployment_checks_report_nothing():
    result = run_django(
        "import django, sys; from django.core.management import call_command; django.setup(); "
        "call_command('check', deploy=True, fail_level='DEBUG')",
        **production(SECRET_KEY=secrets.token_urlsafe(50)),
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("key", [None, "short", "dev-only-insecure-key" + "x" * 40, "x" * 60])
def test_production_refuses_to_start_without_a_real_secret_key(key):
    environment = production() if key is None else production(SECRET_KEY=key)
    result = run_django("import django; django.setup()", **environment)
    assert result.returncode != 0
    assert "SECRET_KEY must be set to a random value" in result.stderr


def test_production_is_https_only_with_secure_cookies_and_json_logs():
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; print(json.dumps(["
        "s.DEBUG, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SESSION_COOKIE_HTTPONLY, s.SECURE_PROXY_SSL_HEADER, s.CSRF_TRUSTED_ORIGINS, s.TRUSTED_PROXY_COUNT, "
        "s.LOGGING['handlers']['stdout']['formatter']]))"
    )
    result = run_django(
        code,
        **production(
            SECRET_KEY=secrets.token_urlsafe(50),
            SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
            CSRF_TRUSTED_ORIGINS="https://loyalty.example.com",
            TRUSTED_PROXY_COUNT="1",
        ),
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        False,
        True,
        31536000,
        True,
        True,
        True,
        ["HTTP_X_FORWARDED_PROTO", "https"],
        ["https://loyalty.example.com"],
        1,
        "json",
    ]


def test_development_runs_without_a_secret_key_and_says_debug():
    result = run_django(
        "import django; django.setup(); from django.conf import settings as s; print(s.DEBUG, s.SECRET_KEY)",
        DJANGO_SETTINGS_MODULE="loyalty_site.settings.development",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "dev-only-insecure-key"]


@pytest.mark.django_db
def test_a_log_line_is_json_with_the_request_id(client):
    stream = io.StringIO()
    formatter = logging.config.DictConfigurator({}).configure_formatter(settings.LOGGING["formatters"]["json"])
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(logging.config.DictConfigurator({}).configure_filter(settings.LOGGING["filters"]["request_id"]))
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        sent = uuid.uuid4().hex
        response = client.get("/no-such-page/", HTTP_X_REQUEST_ID=sent)
        forged = client.get("/no-such-page/", HTTP_X_REQUEST_ID="not a uuid\nforged line")
    finally:
        logger.removeHandler(handler)

    assert response.status_code == 404
    assert response["X-Request-ID"] == sent
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["request_id"] == sent
    assert lines[0]["level"] == "WARNING" and lines[0]["logger"] == "django.request"
    assert lines[0]["message"] == "Not Found: /no-such-page/"
    # A request id that is not a UUID is replaced, not logged as sent.
    assert forged["X-Request-ID"] != "not a uuid\nforged line"
    assert lines[1]["request_id"] == forged["X-Request-ID"]


@pytest.mark.parametrize(
    ("proxies", "meta", "expected"),
    [
        (0, {"REMOTE_ADDR": "203.0.113.9", "HTTP_X_FORWARDED_FOR": "198.51.100.1"}, "203.0.113.9"),
        (1, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "198.51.100.1"}, "198.51.100.1"),
        # A client writing its own X-Forwarded-For is not believed: the proxy appended the address it saw.
        (1, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 198.51.100.1"}, "198.51.100.1"),
        (2, {"REMOTE_ADDR": "10.0.0.3", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 198.51.100.1, 10.0.0.2"}, "198.51.100.1"),
        # Fewer forwarded addresses than proxies: it did not come through them.
        (2, {"REMOTE_ADDR": "10.0.0.3", "HTTP_X_FORWARDED_FOR": "198.51.100.1"}, "10.0.0.3"),
        (1, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "not-an-address"}, None),
    ],
)
def test_the_client_address_behind_trusted_proxies(settings, proxies, meta, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", **meta)
    assert client_ip(request) == expected


@pytest.mark.parametrize(
    "setting",
    [
        {"LOGIN_THROTTLE_FREE_FAILURES": "0"},
        {"LOGIN_THROTTLE_WINDOW_MINUTES": "0"},
        {"LOGIN_THROTTLE_MAX_DELAY_SECONDS": "-1"},
    ],
)
def test_login_throttle_settings_out_of_range_stop_the_start(setting):
    result = run_django(
        "import django; django.setup()", DJANGO_SETTINGS_MODULE="loyalty_site.settings.development", **setting
    )
    assert result.returncode != 0
    assert "LOGIN_THROTTLE_FREE_FAILURES 1 or more" in result.stderr
