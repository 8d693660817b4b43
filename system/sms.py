"""The text messages the app sends, as its mail (system.mail): written to the outbox (`outgoing_sms`) with a
background job in the writer's transaction, so a message leaves only if that transaction commits, and sent by
the worker through the backend named by the Django setting SMS_BACKEND, tried again with growing waits when
the provider fails.

The job carries only the outbox row's id: the messages hold one-time codes, and a job's arguments are shown in
the admin's job pages and kept with the job. The row is deleted in the transaction that sends it.

A backend is a class whose instances have `send(to: str, body: str) -> None`, raising when the provider did
not take the message (the job is then tried again and the row kept). SMS_BACKEND names it by dotted path:

- `system.sms.ConsoleBackend` (the default): writes each message to standard output, like Django's console
  email backend, for development.
- `system.sms.LocMemBackend`: appends each message to `system.sms.outbox`, for tests.
- a real provider: a class of your own, e.g. `myproject.sms.TwilioBackend`, whose `send` calls the
  provider's API (its credentials read from the environment in `__init__`) and raises on any error.
  Sending is at least once, as mail: a message the provider took just before the worker died may go twice.
"""

import logging
import sys
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string
from procrastinate.contrib.django import app

from system.mail import MAIL_RETRY
from system.models import OutgoingSMS

logger = logging.getLogger(__name__)

# As mail: 8 more tries over about 2.7 hours (3, 9, 27 s ... 1.8 h apart), then the job is failed (visible in
# the admin, whose Retry Job action sends the kept row).
SMS_RETRY = MAIL_RETRY
DEFAULT_BACKEND = "system.sms.ConsoleBackend"


@dataclass(frozen=True)
class SMSMessage:
    to: str
    body: str


class ConsoleBackend:
    """Writes each message to standard output (development)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send(self, to: str, body: str) -> None:
        self.stream.write(f"SMS to {to}\n{body}\n{'-' * 79}\n")
        self.stream.flush()


# The messages LocMemBackend sent, oldest first: tests read and empty it.
outbox: list[SMSMessage] = []


class LocMemBackend:
    """Keeps each message in `system.sms.outbox` (tests)."""

    def send(self, to: str, body: str) -> None:
        outbox.append(SMSMessage(to, body))


def get_backend():
    """An instance of the class SMS_BACKEND names."""
    return import_string(getattr(settings, "SMS_BACKEND", DEFAULT_BACKEND))()


@app.task(name="system.send_sms", queue="sms", retry=SMS_RETRY)
def send_sms(*, sms_id: str) -> None:
    """The worker's job: send one outbox message through SMS_BACKEND, then delete it; an error fails this try
    and keeps the message for the next. The row stays locked while it is sent, so a twin of this job waits,
    then finds it gone and does nothing."""
    with transaction.atomic():
        sms = OutgoingSMS.objects.select_for_update().filter(pk=sms_id).first()
        if sms is None:
            logger.info("SMS %s was sent already.", sms_id)
            return
        get_backend().send(sms.to, sms.body)
        sms.delete()


def queue_sms(*, to: str, body: str) -> int:
    """Queue a text message to `to` (E.164, e.g. +14155550123) for the worker; returns the job's id.

    Written on the caller's connection, inside its transaction if there is one, as queue_email(). A number not
    in E.164 form raises (the table's CHECK constraint) and nothing is queued.
    """
    with transaction.atomic():
        sms = OutgoingSMS.objects.create(to=to, body=body)
        return send_sms.defer(sms_id=str(sms.pk))
