"""The mail the app sends: queued as a background job in the writer's transaction, so it leaves only
if that transaction commits, and sent by the worker, tried again with growing waits when the mail
server fails."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

# A failed send is tried again after 3, 9, 27 s ... 36 min, 1.8 h: 8 more tries over about 2.7 hours,
# then the job is failed (visible in the admin).
MAIL_RETRY = RetryStrategy(max_attempts=8, exponential_wait=3)


@app.task(name="system.send_email", queue="mail", retry=MAIL_RETRY)
def send_email(*, subject: str, body: str, to: list[str], html_body: str | None = None) -> None:
    """The worker's job: send one message through EMAIL_BACKEND; an error fails this try."""
    message = EmailMultiAlternatives(subject, body, settings.DEFAULT_FROM_EMAIL, to)
    if html_body:
        message.attach_alternative(html_body, "text/html")
    message.send()


def queue_email(*, subject: str, body: str, to: list[str], html_body: str | None = None) -> int:
    """Queue a message for the worker; returns the job's id.

    The job row is written on the caller's connection, inside its transaction if there is one: the
    worker sees it when that transaction commits, and a rollback takes it away with everything else.
    """
    return send_email.defer(subject=subject, body=body, to=list(to), html_body=html_body)
