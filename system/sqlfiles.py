"""The database's functions, triggers and views, one file each.

`<app>/sql/<name>.sql` is today's definition of the object `<name>` (every overload of a
function), a `CREATE OR REPLACE` statement under a header comment. A migration never reads
it: it installs `<app>/sql/frozen/<name>.v<N>.sql`, a copy frozen when version N was made
(`manage.py sqlmigration`), so a landed migration does the same forever and going backwards
installs the version before. docs/architecture.md has the steps;
system/tests/test_sql_files.py proves the migrated database equals the current files.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.db import migrations

ROOT = Path(__file__).resolve().parent.parent
# The apps that own database objects, lowest layer first.
APPS = ("system", "merchants", "customers", "loyalty", "transactions", "analytics", "api")


def current_path(app: str, name: str) -> Path:
    return ROOT / app / "sql" / f"{name}.sql"


def frozen_path(app: str, name: str, version: int) -> Path:
    return ROOT / app / "sql" / "frozen" / f"{name}.v{version}.sql"


def frozen(app: str, name: str, version: int) -> str:
    """Version `version` of the object, as it was frozen."""
    return frozen_path(app, name, version).read_text()


def frozen_versions(app: str, name: str) -> list[int]:
    folder = ROOT / app / "sql" / "frozen"
    pattern = re.compile(rf"{re.escape(name)}\.v(\d+)\.sql")
    return sorted(int(m.group(1)) for p in folder.glob(f"{name}.v*.sql") if (m := pattern.fullmatch(p.name)))


def unfrozen(app: str) -> list[tuple[str, int | None]]:
    """(name, its latest frozen version or None) of each of the app's files that differs from that copy."""
    changed = []
    for path in sorted((ROOT / app / "sql").glob("*.sql")):
        versions = frozen_versions(app, path.stem)
        if not versions or frozen(app, path.stem, versions[-1]) != path.read_text():
            changed.append((path.stem, versions[-1] if versions else None))
    return changed


def current_files() -> dict[str, Path]:
    """Every object's current file, by object name."""
    files = {}
    for app in APPS:
        for path in sorted((ROOT / app / "sql").glob("*.sql")):
            if path.stem in files:
                raise ValueError(f"{path.stem} has two files: {files[path.stem]} and {path}")
            files[path.stem] = path
    return files


def install(app: str, name: str, version: int, *, reverse: int | str) -> migrations.RunSQL:
    """A migration's operation: install frozen version `version`; backwards, frozen version
    `reverse`, or the SQL given (a DROP for an object this version creates)."""
    backwards = frozen(app, name, reverse) if isinstance(reverse, int) else reverse
    return migrations.RunSQL(frozen(app, name, version), backwards)


# The definitions in the database, by object name: functions (all overloads of a name, extension
# functions aside), triggers other than constraints', and views of the public schema (an extension's
# objects aside: pg_stat_statements' views, pgstattuple's functions), and the job runner's functions
# and triggers (procrastinate_*: its migrations install them), and the triggers of partitions (a parent's row
# triggers are cloned to them; create_log_partitions adds their TRUNCATE guards).
DEFINITIONS = """
    SELECT p.proname, string_agg(pg_get_functiondef(p.oid), E'\n' ORDER BY pg_get_function_identity_arguments(p.oid))
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'public' AND p.proname NOT LIKE 'procrastinate%'
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
     GROUP BY p.proname
     UNION ALL
    SELECT t.tgname, pg_get_triggerdef(t.oid)
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND NOT t.tgisinternal AND t.tgname NOT LIKE 'procrastinate%' AND NOT c.relispartition
     UNION ALL
    SELECT c.relname, pg_get_viewdef(c.oid)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind = 'v'
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
"""


def definitions(cursor) -> dict[str, str]:
    cursor.execute(DEFINITIONS)
    return dict(cursor.fetchall())


def differences(cursor) -> list[str]:
    """How the database differs from the current files, one line each; empty when it is the files.

    Each file is run in a savepoint that is then rolled back: a file that changes nothing is
    what the database holds.
    """
    files = current_files()
    before = definitions(cursor)
    problems = [
        f"{name} is in the database but has no file (add <app>/sql/{name}.sql)"
        for name in sorted(before)
        if name not in files
    ]
    for name, path in files.items():
        cursor.execute("SAVEPOINT sql_file")
        try:
            cursor.execute(path.read_text())
            after = definitions(cursor)
        finally:
            cursor.execute("ROLLBACK TO SAVEPOINT sql_file")
        relative = f"{path.parent.parent.name}/sql/{path.name}"
        if name not in before:
            problems.append(f"{relative} has no object in the database (a migration must install it)")
        elif name not in after:
            problems.append(f"{relative} does not define {name}")
        changed = sorted(n for n in after if before.get(n) != after[n] and n != name)
        if name in before and before[name] != after.get(name):
            problems.append(f"{name} in the database differs from {relative} (freeze it and migrate)")
        if changed and name in before:
            problems.append(f"{relative} changes other objects too: {', '.join(changed)}")
    return problems
