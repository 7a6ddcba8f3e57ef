"""The project layout of DESIGN.md: every app present and loading, labels as designed."""

from django.apps import apps


def test_every_app_of_the_design_is_installed():
    labels = {config.label for config in apps.get_app_configs()}
    assert {"org", "credits", "lectures", "evaluations", "courses", "reports"} <= labels


def test_django_sessions_still_owns_the_sessions_label():
    assert apps.get_app_config("sessions").name == "django.contrib.sessions"
    lectures = apps.get_app_config("lectures")
    assert lectures.name == "sessions"
    assert lectures.path.endswith("/sessions")
