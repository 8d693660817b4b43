"""python manage.py worker: the background job worker for production (make run and make serve start one)."""

import logging
import os
import signal
import sys

from django.conf import settings
from django.core.management.base import BaseCommand
from procrastinate.contrib.django import app, procrastinate_app


class Command(BaseCommand):
    help = (
        "Run the background jobs of every queue, and queue the recurring ones on their schedule, until "
        "stopped. SIGTERM or Ctrl-C stops it once its running jobs finish; a second one stops it at once "
        "(a job cut short is run again by another worker: README, Background jobs)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--concurrency",
            type=int,
            default=settings.PROCRASTINATE_WORKER_DEFAULTS["concurrency"],
            help="jobs run at once (default: WORKER_CONCURRENCY, %(default)s)",
        )

    def handle(self, *args, concurrency, verbosity=1, **options):
        logging.basicConfig(
            level=logging.INFO if verbosity >= 2 else logging.WARNING,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        if verbosity >= 1:
            logging.getLogger("operations").setLevel(logging.INFO)
        # Until the worker takes over the signals (it waits for running jobs, and a second signal stops it at
        # once), SIGTERM and Ctrl-C end it cleanly: no job runs yet.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: sys.exit(0))
        try:
            with app.replace_connector(app.connector.get_worker_connector()):
                app.perform_import_paths()
                if not settings.WORKER_RECURRING:  # cron runs them; a dead worker's jobs are still retried
                    registry = procrastinate_app.current_app.periodic_registry
                    registry.periodic_tasks = {
                        key: task
                        for key, task in registry.periodic_tasks.items()
                        if key[0] == "operations.retry_stalled_jobs"
                    }
                recurring = len(app.periodic_registry.periodic_tasks)
                self.stdout.write(
                    f"Job worker started (pid {os.getpid()}, database {settings.DATABASES['default']['NAME']}): "
                    f"every queue, {concurrency} job(s) at once, {recurring} recurring jobs. "
                    "SIGTERM or Ctrl-C stops it after its running jobs.",
                )
                self.stdout.flush()
                app.run_worker(concurrency=concurrency)
        finally:
            self.stdout.write("Job worker stopped.")
