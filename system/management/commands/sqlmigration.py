"""Freeze the changed SQL files of an app and write the migration that installs them.

    python manage.py sqlmigration loyalty --name double_points_on_tuesdays

Every `<app>/sql/<name>.sql` that differs from its latest frozen copy (or has none yet) is
frozen as the next version, `<app>/sql/frozen/<name>.v<N>.sql`, and a new migration of the
app installs those versions (going backwards: the versions before, or a DROP for a new object).
"""

import re

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader

from system import sqlfiles

TEMPLATE = '''"""{doc}"""

from django.db import migrations

from system.sqlfiles import install


class Migration(migrations.Migration):
    dependencies = [
{dependencies}
    ]
    operations = [
{operations}
    ]
'''

# What a new object is, by the catalog, and how to drop it.
NEW_OBJECT = """
    SELECT 1, format('DROP FUNCTION %%s;', p.oid::regprocedure)
      FROM pg_proc p WHERE p.proname = %(name)s AND p.pronamespace = 'public'::regnamespace
     UNION ALL
    SELECT 2, format('DROP TRIGGER %%s ON %%s;', t.tgname, t.tgrelid::regclass)
      FROM pg_trigger t WHERE t.tgname = %(name)s
     UNION ALL
    SELECT 3, format('DROP VIEW %%s;', c.relname) FROM pg_class c
     WHERE c.relname = %(name)s AND c.relkind = 'v' AND c.relnamespace = 'public'::regnamespace
"""


FUNCTION = re.compile(r"^CREATE OR REPLACE FUNCTION", re.M)


class _Undo(Exception):
    pass


class Command(BaseCommand):
    help = "Freeze an app's changed SQL files and write the migration that installs them."

    def add_arguments(self, parser):
        parser.add_argument("app", choices=sqlfiles.APPS)
        parser.add_argument("--name", default="sql", help="the migration's name, after its number")

    def handle(self, *args, app, name, **options):
        changed = sqlfiles.unfrozen(app)
        if not changed:
            raise CommandError(f"no SQL file of {app} differs from its frozen copy")
        kinds, drops = self.new_objects(app, [n for n, v in changed if v is None])
        # New functions first (what the others call), then changed functions, then triggers and views.
        changed.sort(key=lambda c: (kinds.get(c[0], 1), c[1] is not None, c[0]))
        operations = []
        for object_name, version in changed:
            new = (version or 0) + 1
            sqlfiles.frozen_path(app, object_name, new).parent.mkdir(exist_ok=True)
            sqlfiles.frozen_path(app, object_name, new).write_text(sqlfiles.current_path(app, object_name).read_text())
            reverse = str(version) if version else repr(drops[object_name])
            operations.append(f'        install("{app}", "{object_name}", {new}, reverse={reverse}),')
        loader = MigrationLoader(None, ignore_no_migrations=True)
        leaves = sorted(
            leaf for label in sqlfiles.APPS if apps.is_installed(label) for leaf in loader.graph.leaf_nodes(label)
        )
        own = [leaf for leaf in leaves if leaf[0] == app]
        number = int(own[0][1][:4]) + 1 if own else 1
        path = sqlfiles.ROOT / app / "migrations" / f"{number:04d}_{name}.py"
        path.write_text(
            TEMPLATE.format(
                doc=f"Install the frozen versions of: {', '.join(n for n, _ in changed)}.",
                dependencies="\n".join(f'        ("{label}", "{migration}"),' for label, migration in leaves),
                operations="\n".join(operations),
            )
        )
        self.stdout.write(f"Froze {len(changed)} files; wrote {path.relative_to(sqlfiles.ROOT)}: say what it does.")

    def new_objects(self, app, names):
        """Each new object's kind (0 function, 2 trigger, 3 view) and its DROP, from running its file."""
        kinds, drops = {}, {}
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                # functions first: a new trigger may call a new function
                functions_first = sorted(
                    names, key=lambda n: not FUNCTION.search(sqlfiles.current_path(app, n).read_text())
                )
                for object_name in functions_first:
                    cursor.execute(sqlfiles.current_path(app, object_name).read_text())
                    cursor.execute(NEW_OBJECT, {"name": object_name})
                    rows = cursor.fetchall()
                    if not rows:
                        raise CommandError(f"{object_name}.sql does not create {object_name}")
                    kinds[object_name] = 0 if rows[0][0] == 1 else rows[0][0]
                    drops[object_name] = " ".join(drop for _, drop in rows)
                raise _Undo
        except _Undo:
            pass
        return kinds, drops
