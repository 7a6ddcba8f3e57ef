"""Background work of the micro-class programme. Tasks take ids, re-read rows, call one
service, and are safe to run twice."""

from celery import shared_task

from sessions import services


@shared_task
def send_due_reminders() -> int:
    """Run by beat every few minutes: day-before and hour-before reminders, never twice."""
    return services.reminders_send_due()


@shared_task(acks_late=True)
def send_reminder(session_id: int, kind: str) -> int:
    """Send one reminder of one class (a no-op when it was sent already)."""
    return services.reminder_send(session_id=session_id, kind=kind)
