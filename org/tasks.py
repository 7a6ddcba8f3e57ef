"""Background work of the organisation app. Tasks take ids and re-read rows."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from org.models import Notification

NOTIFICATION_RETENTION = timedelta(days=365)


@shared_task(acks_late=True)
def email_notifications(notification_ids: list[int]) -> int:
    """E-mail the given notices; safe to run twice (a notice is at worst sent again)."""
    sent = 0
    notices = Notification.objects.filter(pk__in=notification_ids).select_related("recipient")
    for notice in notices:
        if not notice.recipient.email:
            continue
        sent += send_mail(
            subject=notice.title,
            message=notice.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[notice.recipient.email],
            fail_silently=False,
        )
    return sent


@shared_task
def purge_old_notifications() -> int:
    """Delete read notices older than a year, so inboxes do not grow forever."""
    cutoff = timezone.now() - NOTIFICATION_RETENTION
    deleted, _ = Notification.objects.filter(read_at__isnull=False, created_at__lt=cutoff).delete()
    return deleted
