"""Mail leaves through the job worker: queued with the writer's transaction, sent by a real worker on the
test database, tried again with growing waits when the mail server fails, then shown as failed."""

import socket

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import transaction

from system.mail import queue_email
from system.testing import clear_jobs, run_jobs, sql

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_jobs_left():
    clear_jobs()


def mail_jobs():
    return sql("SELECT status, attempts FROM procrastinate_jobs WHERE task_name = 'system.send_email' ORDER BY id")


def test_mail_of_a_rolled_back_transaction_is_never_sent():
    with pytest.raises(RuntimeError), transaction.atomic():
        queue_email(subject="Welcome", body="Hello", to=["ada@example.test"])
        raise RuntimeError("the write that needed the mail fails")

    run_jobs()

    assert mail.outbox == [] and mail_jobs() == []


def test_mail_is_sent_by_the_worker_once_its_transaction_commits():
    with transaction.atomic():
        queue_email(subject="Welcome", body="Hello", to=["ada@example.test"], html_body="<p>Hello</p>")
        run_jobs()  # the worker's own connection cannot see the job yet
        assert mail.outbox == []

    run_jobs()

    [message] = mail.outbox
    assert (message.subject, message.body, message.to) == ("Welcome", "Hello", ["ada@example.test"])
    assert message.alternatives[0][0] == "<p>Hello</p>"
    assert mail_jobs() == [("succeeded", 1)]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the probe is closed


def test_a_failing_send_is_retried_with_growing_waits_then_shown_as_failed(settings, admin_client, client):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2
    job_id = queue_email(subject="Welcome", body="Hello", to=["ada@example.test"])

    waits = []
    for _ in range(9):  # MAIL_RETRY: the first try and 8 more
        run_jobs()
        [(status, attempts, wait)] = sql(
            "SELECT status, attempts, extract(epoch FROM scheduled_at - now()) FROM procrastinate_jobs WHERE id = %s",
            [job_id],
        )
        if status == "failed":
            break
        assert status == "todo"
        waits.append(round(wait))
        sql("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE id = %s", [job_id])  # time passes

    assert (status, attempts) == ("failed", 9)
    assert waits == [3, 9, 27, 81, 243, 729, 2187, 6561]
    assert mail.outbox == []

    failed = admin_client.get("/admin/procrastinate/procrastinatejob/?status__exact=failed")
    assert failed.status_code == 200 and "system.send_email" in failed.content.decode()
    client.force_login(get_user_model().objects.create_user("clerk@shop.test", "a-long-test-password"))
    assert client.get("/admin/procrastinate/procrastinatejob/").status_code == 302  # staff only
