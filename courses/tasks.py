"""Background work of the courses app. Tasks take ids, re-read rows, call one service."""

from celery import shared_task

from courses import services
from courses.models import CoursePush


@shared_task(acks_late=True)
def send_push(push_id: int) -> int:
    """Notify a push's audience; safe to run twice (a sent push is left alone)."""
    push = CoursePush.objects.filter(pk=push_id).first()
    if push is None:
        return 0
    return services.course_push_send(push=push)


@shared_task
def apply_schedules() -> int:
    """Put courses online/offline whose scheduled time has come; safe to run twice."""
    return services.course_schedule_apply()


@shared_task
def flush_counters() -> int:
    """Write buffered click/view counts to the database in one batch."""
    return services.counters_flush()
