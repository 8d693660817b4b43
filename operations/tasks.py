"""The background jobs: procrastinate imports this module of each app, and the tasks register on import."""

from operations import backups, jobs, maintenance, monitoring  # noqa: F401
