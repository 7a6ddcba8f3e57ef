"""Notices are e-mailed by a real Celery worker consuming from Redis (CI), after commit."""

import time

import pytest
from django.core import mail
from django.db import transaction

from org import services
from tests.factories import UserFactory


@pytest.mark.celery_worker
def test_notification_email_is_sent_by_a_real_worker_after_commit(celery_worker_live, settings):
    settings.NOTIFY_BY_EMAIL = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    person = UserFactory(email="zhang@example.gov.cn")
    mail.outbox.clear()

    with transaction.atomic():
        services.notification_send(recipients=[person], title="明日微课堂提醒", body="16:30 三楼会议室")

    for _ in range(100):
        if mail.outbox:
            break
        time.sleep(0.1)
    assert [m.subject for m in mail.outbox] == ["明日微课堂提醒"]
    assert mail.outbox[0].to == ["zhang@example.gov.cn"]
