"""The PostgreSQL versions the product supports."""

from django.db import connections

from system import checks


def test_the_embedded_postgresql_passes(db):
    assert checks.postgresql_version(None, databases=["default"]) == []


def test_a_server_older_than_16_is_refused_with_what_to_do(db, monkeypatch):
    monkeypatch.setattr(connections["default"], "pg_version", 150010)
    (error,) = checks.postgresql_version(None, databases=["default"])
    assert error.id == "system.E001" and "PostgreSQL 15 is too old" in error.msg and "16 to 18" in error.msg


def test_checks_without_a_database_do_not_connect():
    assert checks.postgresql_version(None, databases=None) == []
