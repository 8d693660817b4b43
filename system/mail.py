"""The mail the app sends: written to the outbox (`outgoing_emails`) with a background job in the writer's
transaction, so it leaves only if that transaction commits, and sent by the worker, tried again with
growing waits when the mail server fails.

The job carries only the outbox row's id: the messages hold secrets (password-reset and set-password
links, card links), and a job's arguments are shown in the admin's job pages and kept with the job
(JOBS_KEEP_DAYS once it succeeds, for good once it fails). The row is deleted in the transaction that
sends it, so no message outlives its sending."""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from system.models import OutgoingEmail

logger = logging.getLogger(__name__)

# A failed send is tried again after 3, 9, 27 s ... 36 min, 1.8 h: 8 more tries over about 2.7 hours,
# then the job is failed (visible in the admin).
MAIL_RETRY = RetryStrategy(max_attempts=8, exponential_wait=3)


@app.task(name="system.send_email", queue="mail", retry=MAIL_RETRY)
def send_email(*, email_id: str) -> None:
    """The worker's job: send one outbox message through EMAIL_BACKEND, then delete it; an error fails this
    try and keeps the message for the next. The row stays locked while it is sent, so a twin of this job (a
    dead worker's, queued again) waits, then finds it gone and does nothing."""
    with transaction.atomic():
        email = OutgoingEmail.objects.select_for_update().filter(pk=email_id).first()
        if email is None:
            logger.info("Email %s was sent already.", email_id)
            return
        message = EmailMultiAlternatives(email.subject, email.body, settings.DEFAULT_FROM_EMAIL, email.to)
        if email.html_body:
            message.attach_alternative(email.html_body, "text/html")
        message.send()
        email.delete()


def queue_email(*, subject: str, body: str, to: list[str], html_body: str | None = None) -> int:
    """Queue a message for the worker; returns the job's id.

    The outbox row and the job row are written on the caller's connection, inside its transaction if there
    is one: the worker sees them when that transaction commits, and a rollback takes them away with
    everything else.
    """
    with transaction.atomic():
        email = OutgoingEmail.objects.create(to=list(to), subject=subject, body=body, html_body=html_body or "")
        return send_email.defer(email_id=str(email.pk))
