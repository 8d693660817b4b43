"""The runtime role's privileges, granted after every `migrate` (docs/architecture.md "Database roles").

The migrations run as the owner role and own every object; the web app and the worker connect as the runtime
role (settings.DATABASE_RUNTIME_ROLE), which gets, in the public schema: SELECT, INSERT, UPDATE and DELETE on
every table, but only SELECT and INSERT on the append-only tables below (plus UPDATE of the columns listed for
each) and nothing on partitions (reached through their parent), and USAGE on the sequences; functions are
everyone's to EXECUTE (PostgreSQL's default), but for the SECURITY DEFINER ones, which only the runtime role
may call. It owns nothing, so it cannot change the schema, TRUNCATE, or disable a trigger. Default privileges
give a table made later the same until the next `migrate` sets them all again here: this list is the one place
that names the append-only tables.
"""

from __future__ import annotations

from django.conf import settings
from psycopg import sql

# table -> the columns the runtime role may UPDATE (the rest of the row never changes)
APPEND_ONLY = {
    "points_transactions": [],  # the ledger
    "audit_logs": [],  # redact_customer_logs (SECURITY DEFINER) alone rewrites values
    "qr_scan_logs": ["sale_id", "ip_address", "user_agent"],  # a scan takes its sale; old addresses are erased
}


def runtime_role() -> str:
    return getattr(settings, "DATABASE_RUNTIME_ROLE", "")


def grant_runtime_privileges(connection) -> bool:
    """(Re)set the runtime role's privileges in `connection`'s database; False when there is no runtime role
    to grant to (one role for everything) or the migrating role is that role."""
    role = runtime_role()
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)", [role])
        me, exists = cursor.fetchone()
        if not role or not exists or me == role:
            return False
        app = sql.Identifier(role)
        existing = _existing_tables(cursor)
        statements = [
            sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(app),
            sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(app),
            sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(app),
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(app),
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
            ).format(app),
            sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {}").format(app),
        ]
        for table, columns in APPEND_ONLY.items():
            if table not in existing:  # migrated backwards past it
                continue
            statements.append(sql.SQL("REVOKE UPDATE, DELETE ON {} FROM {}").format(sql.Identifier(table), app))
            if columns:
                statements.append(
                    sql.SQL("GRANT UPDATE ({}) ON {} TO {}").format(
                        sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(table), app
                    )
                )
        # Partitions (of audit_logs, qr_scan_logs): nothing; the rows are reached through their parent, whose
        # privileges PostgreSQL checks (create_log_partitions revokes the same on the partitions it makes).
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relispartition AND relkind = 'r' "
            "AND relnamespace = 'public'::regnamespace"
        )
        for (partition,) in cursor.fetchall():
            statements.append(sql.SQL("REVOKE ALL ON {} FROM {}").format(sql.Identifier(partition), app))
        # The SECURITY DEFINER functions run as the owner: the runtime role alone may call them, not every role
        # (PUBLIC's default), e.g. not the backup role.
        cursor.execute(
            "SELECT oid::regprocedure::text FROM pg_proc WHERE prosecdef AND pronamespace = 'public'::regnamespace "
            "AND proowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
        )
        for (signature,) in cursor.fetchall():
            function = sql.SQL(signature)  # regprocedure's text: quoted as needed
            statements.append(sql.SQL("REVOKE EXECUTE ON FUNCTION {} FROM PUBLIC").format(function))
            statements.append(sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(function, app))
        for statement in statements:
            cursor.execute(statement)
    return True


def _existing_tables(cursor) -> set[str]:
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {row[0] for row in cursor.fetchall()}


def grant_after_migrate(sender, using="default", **kwargs) -> None:
    """post_migrate (sent once per app: acted on for this app only, after every app has migrated)."""
    from django.db import connections, transaction

    with transaction.atomic(using=using):
        grant_runtime_privileges(connections[using])
