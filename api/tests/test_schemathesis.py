"""schemathesis against our own OpenAPI document: no 500s, and every response matches the document."""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.services import api_key_create
from system.models import SystemSetting
from transactions.testing import complete_sale

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(autouse=True)
def one_connection(db):
    """In-process WSGI calls share the test's connection: keep Django from closing it after each request,
    as its own test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


application = get_wsgi_application()  # the site, as loyalty_site/wsgi.py serves it
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)  # needs no database


@pytest.fixture
def bearer(merchant, program, customer, staff):
    SystemSetting.objects.filter(setting_key="api.rate_limit_requests").update(setting_value="1000000")
    complete_sale(merchant=merchant, customer=customer)
    _, raw = api_key_create(merchant=merchant, name="Fuzz", acting_user=staff["owner"])
    return {"Authorization": f"Bearer {raw}"}


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_matches_its_document(case, bearer):
    case.call_and_validate(headers=bearer, checks=CHECKS)


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_without_a_key_matches_its_document(case, db):
    case.call_and_validate(checks=CHECKS)
