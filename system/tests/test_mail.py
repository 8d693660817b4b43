"""Mail leaves through the job worker: its message written to the outbox and its job queued with the writer's
transaction, sent by a real worker on the test database, tried again with growing waits when the mail server
fails, then shown as failed. The job carries only the outbox row's id, and the row goes once sent."""

import json
import socket

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import transaction

from system.mail import queue_email, send_email
from system.testing import clear_jobs, run_jobs, sql

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_jobs_left():
    clear_jobs()


def mail_jobs():
    return sql("SELECT status, attempts FROM procrastinate_jobs WHERE task_name = 'system.send_email' ORDER BY id")


def outbox_rows():
    return sql("SELECT id, subject, body FROM outgoing_emails")


RESET_BODY = "Reset your password here: https://loyalty.test/reset/MQ/ckd6-0123456789abcdef/"


def test_mail_of_a_rolled_back_transaction_is_never_sent():
    with pytest.raises(RuntimeError), transaction.atomic():
        queue_email(subject="Welcome", body="Hello", to=["ada@example.test"])
        raise RuntimeError("the write that needed the mail fails")

    run_jobs()

    assert mail.outbox == [] and mail_jobs() == [] and outbox_rows() == []


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
    assert outbox_rows() == []  # deleted with its sending


def test_the_job_carries_only_the_outbox_rows_id_and_no_copy_of_the_message_outlives_its_sending():
    job_id = queue_email(subject="Your password", body=RESET_BODY, to=["ada@example.test"], html_body=RESET_BODY)
    [(email_id, subject, body)] = outbox_rows()
    assert (subject, body) == ("Your password", RESET_BODY)

    [(args,)] = sql("SELECT args::text FROM procrastinate_jobs WHERE id = %s", [job_id])
    assert json.loads(args) == {"email_id": str(email_id)}

    run_jobs()

    [message] = mail.outbox
    assert message.body == RESET_BODY and message.to == ["ada@example.test"]
    assert outbox_rows() == []
    assert sql("SELECT count(*) FROM procrastinate_jobs WHERE args::text LIKE '%%/reset/%%'") == [(0,)]
    audited = sql(
        "SELECT count(*) FROM audit_logs WHERE table_name = 'outgoing_emails' OR new_values::text LIKE '%%/reset/%%'"
    )
    assert audited == [(0,)]  # the outbox has no audit trigger: its rows are copied nowhere


def test_a_twin_of_a_sent_mails_job_does_nothing():
    """A dead worker's mail job queued again after the mail left: the row is gone, so it is not sent twice."""
    queue_email(subject="Welcome", body="Hello", to=["ada@example.test"])
    [(email_id, _, _)] = outbox_rows()
    send_email.defer(email_id=str(email_id))

    run_jobs()

    assert len(mail.outbox) == 1
    assert mail_jobs() == [("succeeded", 1), ("succeeded", 1)]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the probe is closed


def test_a_failing_send_is_retried_with_growing_waits_then_shown_as_failed_and_can_be_retried_from_the_admin(
    settings, admin_client, client
):
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
    assert [subject for (_, subject, _) in outbox_rows()] == ["Welcome"]  # unsent, so kept

    failed = admin_client.get("/admin/procrastinate/procrastinatejob/?status__exact=failed")
    assert failed.status_code == 200 and "system.send_email" in failed.content.decode()
    client.force_login(get_user_model().objects.create_user("clerk@shop.test", "a-long-test-password"))
    assert client.get("/admin/procrastinate/procrastinatejob/").status_code == 302  # staff only

    # Once the mail server is back, the admin's Retry Job action sends the message the outbox kept.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    admin_client.post(
        "/admin/procrastinate/procrastinatejob/", {"action": "retry", "_selected_action": [job_id]}, follow=True
    )
    run_jobs()
    [message] = mail.outbox
    assert message.subject == "Welcome" and outbox_rows() == []
