"""Helpers for the test suites: raw SQL. The helpers of the apps above are in their own testing modules
(loyalty.testing, transactions.testing)."""

from django.db import connection


def sql(query: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else []
