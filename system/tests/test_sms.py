"""Text messages leave as mail does: written to the outbox and queued with the writer's transaction, sent by a
real worker on the test database through the backend SMS_BACKEND names, tried again with growing waits when the
provider fails, then shown as failed. The job carries only the outbox row's id, and the row goes once sent."""

import io
import json

import pytest
from django.db import IntegrityError, transaction

from system import sms
from system.sms import ConsoleBackend, queue_sms, send_sms
from system.testing import clear_jobs, run_jobs, sql

pytestmark = pytest.mark.django_db(transaction=True)

CODE_BODY = "Your Loyalty code is 482913. It expires in 10 minutes."


class FailingBackend:
    """A provider that is down."""

    def send(self, to, body):
        raise ConnectionError("the SMS provider is unreachable")


@pytest.fixture(autouse=True)
def locmem(settings):
    clear_jobs()
    settings.SMS_BACKEND = "system.sms.LocMemBackend"
    sms.outbox.clear()
    yield
    sms.outbox.clear()


def sms_jobs():
    return sql("SELECT status, attempts FROM procrastinate_jobs WHERE task_name = 'system.send_sms' ORDER BY id")


def outbox_rows():
    return sql('SELECT id, "to", body FROM outgoing_sms')


def test_an_sms_of_a_rolled_back_transaction_is_never_sent():
    with pytest.raises(RuntimeError), transaction.atomic():
        queue_sms(to="+14155550123", body="Hello")
        raise RuntimeError("the write that needed the message fails")

    run_jobs()

    assert sms.outbox == [] and sms_jobs() == [] and outbox_rows() == []


def test_an_sms_is_sent_by_the_worker_once_its_transaction_commits():
    with transaction.atomic():
        queue_sms(to="+14155550123", body=CODE_BODY)
        run_jobs()  # the worker's own connection cannot see the job yet
        assert sms.outbox == []

    run_jobs()

    assert sms.outbox == [sms.SMSMessage("+14155550123", CODE_BODY)]
    assert sms_jobs() == [("succeeded", 1)]
    assert outbox_rows() == []  # deleted with its sending


def test_the_job_carries_only_the_outbox_rows_id_and_no_copy_of_the_message_outlives_its_sending():
    job_id = queue_sms(to="+447700900123", body=CODE_BODY)
    [(sms_id, to, body)] = outbox_rows()
    assert (to, body) == ("+447700900123", CODE_BODY)

    [(args, queue)] = sql("SELECT args::text, queue_name FROM procrastinate_jobs WHERE id = %s", [job_id])
    assert json.loads(args) == {"sms_id": str(sms_id)} and queue == "sms"

    run_jobs()  # a worker runs every queue

    assert [m.body for m in sms.outbox] == [CODE_BODY]
    assert outbox_rows() == []
    assert sql("SELECT count(*) FROM procrastinate_jobs WHERE args::text LIKE '%%482913%%'") == [(0,)]
    audited = sql(
        "SELECT count(*) FROM audit_logs WHERE table_name = 'outgoing_sms' OR new_values::text LIKE '%%482913%%'"
    )
    assert audited == [(0,)]  # no audit trigger on the outbox


def test_a_twin_of_a_sent_messages_job_does_nothing():
    queue_sms(to="+14155550123", body="Hello")
    [(sms_id, _, _)] = outbox_rows()
    send_sms.defer(sms_id=str(sms_id))

    run_jobs()

    assert len(sms.outbox) == 1
    assert sms_jobs() == [("succeeded", 1), ("succeeded", 1)]


@pytest.mark.parametrize("number", ["4155550123", "+0155550123", "+1415555012345678", "+1 415 555 0123", ""])
def test_a_number_not_in_e164_form_is_refused_and_nothing_is_queued(number):
    with pytest.raises(IntegrityError):
        queue_sms(to=number, body="Hello")
    assert outbox_rows() == [] and sms_jobs() == []


def test_a_failing_send_keeps_the_message_and_is_retried_with_growing_waits_then_shown_as_failed(settings):
    settings.SMS_BACKEND = "system.tests.test_sms.FailingBackend"
    job_id = queue_sms(to="+14155550123", body=CODE_BODY)

    waits = []
    for _ in range(9):  # SMS_RETRY: the first try and 8 more
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
    assert [body for (_, _, body) in outbox_rows()] == [CODE_BODY]  # unsent, so kept

    # Once the provider is back, a retry (the admin's Retry Job action) sends the kept message.
    settings.SMS_BACKEND = "system.sms.LocMemBackend"
    sql("UPDATE procrastinate_jobs SET status = 'todo', scheduled_at = now() WHERE id = %s", [job_id])
    run_jobs()
    assert [m.body for m in sms.outbox] == [CODE_BODY] and outbox_rows() == []


def test_the_console_backend_writes_the_message_and_is_the_default(settings):
    stream = io.StringIO()
    ConsoleBackend(stream).send("+14155550123", CODE_BODY)
    assert "+14155550123" in stream.getvalue() and CODE_BODY in stream.getvalue()

    del settings.SMS_BACKEND
    assert isinstance(sms.get_backend(), ConsoleBackend)


def test_the_default_backend_prints_what_the_worker_sends(settings, capsys):
    settings.SMS_BACKEND = "system.sms.ConsoleBackend"
    queue_sms(to="+14155550123", body=CODE_BODY)
    run_jobs()
    assert CODE_BODY in capsys.readouterr().out and outbox_rows() == []
