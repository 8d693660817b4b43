"""The database is the SQL files: every function, trigger and view has one current file, the
migrated database holds exactly those, and migrations install frozen copies of them."""

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from system import sqlfiles
from system.testing import sql

pytestmark = pytest.mark.django_db


def differences() -> list[str]:
    with connection.cursor() as cursor:
        return sqlfiles.differences(cursor)


def test_the_migrated_database_is_the_current_files():
    assert differences() == []


def test_each_current_file_is_its_latest_frozen_copy():
    stale = [
        f"{app}/sql/{name}.sql (run: manage.py sqlmigration {app})"
        for app in sqlfiles.APPS
        for name, _ in sqlfiles.unfrozen(app)
    ]
    assert stale == []


def test_each_file_says_what_it_guarantees_and_defines_its_object():
    for name, path in sqlfiles.current_files().items():
        text = path.read_text()
        assert text.startswith("-- "), f"{path}: a header comment says what it guarantees"
        assert re.search(rf"^CREATE OR REPLACE (FUNCTION|TRIGGER|VIEW) {name}\b", text, re.M), path


def test_an_object_without_a_file_is_named():
    with connection.cursor() as cursor:
        cursor.execute("CREATE FUNCTION stray_rule() RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$")
    assert differences() == ["stray_rule is in the database but has no file (add <app>/sql/stray_rule.sql)"]


def test_a_file_without_an_object_is_named(monkeypatch, tmp_path):
    extra = tmp_path / "system" / "sql" / "double_points.sql"
    extra.parent.mkdir(parents=True)
    extra.write_text("CREATE OR REPLACE FUNCTION double_points() RETURNS integer LANGUAGE sql AS $$ SELECT 2 $$;\n")
    files = sqlfiles.current_files()
    monkeypatch.setattr(sqlfiles, "current_files", lambda: {**files, "double_points": extra})
    assert differences() == ["system/sql/double_points.sql has no object in the database (a migration must install it)"]


def test_an_object_that_differs_from_its_file_is_named():
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE OR REPLACE FUNCTION loyalty_redemption_limit(program loyalty_programs, amount numeric) "
            "RETURNS numeric LANGUAGE sql IMMUTABLE AS $$ SELECT amount $$"
        )
    assert differences() == [
        "loyalty_redemption_limit in the database differs from loyalty/sql/loyalty_redemption_limit.sql "
        "(freeze it and migrate)"
    ]


def test_a_trigger_that_differs_from_its_file_is_named():
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE OR REPLACE TRIGGER merchants_audit AFTER INSERT ON merchants "
            "FOR EACH ROW EXECUTE FUNCTION audit_row_change()"
        )
    assert differences() == [
        "merchants_audit in the database differs from merchants/sql/merchants_audit.sql (freeze it and migrate)"
    ]


def test_sqlmigration_freezes_changed_files_and_writes_their_migration(monkeypatch, tmp_path):
    app = tmp_path / "loyalty"
    (app / "sql").mkdir(parents=True)
    (app / "migrations").mkdir()
    current = app / "sql" / "double_points.sql"
    current.write_text(
        "-- Twice the points.\n"
        "CREATE OR REPLACE FUNCTION double_points(p integer) RETURNS integer LANGUAGE sql AS $$ SELECT 2 * p $$;\n"
    )
    monkeypatch.setattr(sqlfiles, "ROOT", tmp_path)

    call_command("sqlmigration", "loyalty", name="double_points", stdout=io.StringIO())
    assert (app / "sql" / "frozen" / "double_points.v1.sql").read_text() == current.read_text()
    [first] = (app / "migrations").glob("*_double_points.py")
    assert 'install("loyalty", "double_points", 1, reverse=\'DROP FUNCTION double_points(integer);\')' in (
        first.read_text()
    )
    compile(first.read_text(), str(first), "exec")

    current.write_text(current.read_text().replace("2 * p", "3 * p"))
    call_command("sqlmigration", "loyalty", name="triple_points", stdout=io.StringIO())
    assert "3 * p" in (app / "sql" / "frozen" / "double_points.v2.sql").read_text()
    [second] = (app / "migrations").glob("*_triple_points.py")
    assert 'install("loyalty", "double_points", 2, reverse=1)' in second.read_text()
    with pytest.raises(CommandError, match="no SQL file of loyalty differs"):
        call_command("sqlmigration", "loyalty", stdout=io.StringIO())


def test_the_job_runners_own_objects_need_no_file_and_its_tables_are_not_audited():
    procrastinate = sql(
        "SELECT count(*) FROM pg_proc WHERE proname LIKE 'procrastinate%' AND pronamespace = 'public'::regnamespace"
    )
    assert procrastinate[0][0] > 0  # its migrations ran: their functions are left out on purpose
    with connection.cursor() as cursor:
        assert not any(name.startswith("procrastinate") for name in sqlfiles.definitions(cursor))
    audited = sql(
        "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid "
        "WHERE p.proname = 'audit_row_change' ORDER BY 1"
    )
    assert audited and not any(name.startswith("procrastinate") for (name,) in audited)
