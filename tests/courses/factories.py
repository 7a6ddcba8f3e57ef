"""Factories and builders for the courses tests.

`make_course` builds a course the way the services would leave it (lesson count and
search text filled in), without going through the services, so tests of one service do
not depend on the others.
"""

from __future__ import annotations

import datetime as dt
import io

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import F
from django.utils import timezone
from factory.django import DjangoModelFactory

from courses.models import Category, Course, CourseAudience, Enrolment, Lesson, LessonProgress
from tests.factories import CadreLevelFactory, OrgUnitFactory, RoleGrantFactory, UserFactory


class CategoryFactory(DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"知识型{n}")


class CourseFactory(DjangoModelFactory):
    class Meta:
        model = Course

    title = factory.Sequence(lambda n: f"依法治国专题讲座{n}")
    source = Course.Source.IN_HOUSE
    length_minutes = 45
    status = Course.Status.ONLINE
    first_online_at = factory.LazyFunction(timezone.now)
    search_text = factory.LazyAttribute(lambda o: o.title.lower())


class LessonFactory(DjangoModelFactory):
    class Meta:
        model = Lesson

    course = factory.SubFactory(CourseFactory)
    position = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"第{n}讲")
    kind = Lesson.Kind.EXTERNAL_VIDEO
    external_url = "https://video.example.cn/lesson.mp4"
    duration_seconds = 300


def make_course(*, lessons: int = 2, duration: int = 300, **fields) -> Course:
    course = CourseFactory(**fields)
    for i in range(lessons):
        LessonFactory(course=course, position=i + 1, duration_seconds=duration)
    Course.objects.filter(pk=course.pk).update(lesson_count=lessons)
    course.refresh_from_db()
    return course


def enrol(person, course: Course, **fields) -> Enrolment:
    enrolment = Enrolment.objects.create(person=person, course=course, cadre_level_id=person.cadre_level_id, **fields)
    Course.objects.filter(pk=course.pk).update(enrolment_count=F("enrolment_count") + 1)
    return enrolment


def started(person, lesson: Lesson, *, at: dt.datetime) -> LessonProgress:
    """A progress row as `lesson_start` leaves it at `at`."""
    enrolment = Enrolment.objects.get(person=person, course=lesson.course)
    return LessonProgress.objects.create(
        enrolment=enrolment, lesson=lesson, person=person, started_at=at, last_heartbeat_at=at, accounted_until=at
    )


def require(course: Course, *, unit=None, cadre_level=None, deadline=None) -> CourseAudience:
    return CourseAudience.objects.create(
        course=course, kind=CourseAudience.Kind.REQUIRED, unit=unit, cadre_level=cadre_level, deadline=deadline
    )


# --- Files -----------------------------------------------------------------------------------


def pdf_upload(name: str = "讲义.pdf", size: int = 2000) -> SimpleUploadedFile:
    body = b"%PDF-1.4\n" + b"0" * max(0, size - 9)
    return SimpleUploadedFile(name, body, content_type="application/pdf")


def mp4_upload(name: str = "第一讲.mp4", size: int = 4000) -> SimpleUploadedFile:
    body = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * max(0, size - 12)
    return SimpleUploadedFile(name, body, content_type="video/mp4")


def pptx_upload(name: str = "课件.pptx") -> SimpleUploadedFile:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("ppt/presentation.xml", "<p/>")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/vnd.ms-powerpoint")


def exe_as_pdf(name: str = "讲义.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"MZ\x90\x00" + b"\x00" * 500, content_type="application/pdf")


__all__ = [
    "CadreLevelFactory",
    "CategoryFactory",
    "CourseFactory",
    "LessonFactory",
    "OrgUnitFactory",
    "RoleGrantFactory",
    "UserFactory",
    "enrol",
    "exe_as_pdf",
    "make_course",
    "mp4_upload",
    "pdf_upload",
    "pptx_upload",
    "require",
    "started",
]
