"""Pages of the reports app under /reports/."""

from django.urls import path

from reports.views import pages

app_name = "reports"

urlpatterns = [
    path("", pages.centre, name="centre"),
    path("runs/", pages.runs_partial, name="runs_partial"),
    path("request/<str:kind>/", pages.request_report, name="request"),
    path("runs/<int:pk>/download/", pages.download, name="download"),
    path("runs/<int:pk>/retry/", pages.retry, name="retry"),
    path("subscriptions/", pages.subscribe, name="subscribe"),
    path("subscriptions/<int:pk>/cancel/", pages.unsubscribe, name="unsubscribe"),
    path("dashboard/", pages.dashboard, name="dashboard"),
    path("record/", pages.record, name="record"),
]
