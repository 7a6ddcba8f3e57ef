"""Routes of the reports API under /api/v1/reports/ (included by learning_portal/urls.py)."""

from django.urls import path

from reports.api import views

app_name = "reports-api"

urlpatterns = [
    path("runs/", views.RunListCreateView.as_view(), name="run-list"),
    path("runs/<int:pk>/", views.RunDetailView.as_view(), name="run-detail"),
    path("runs/<int:pk>/download/", views.RunDownloadView.as_view(), name="run-download"),
    path("runs/<int:pk>/retry/", views.RunRetryView.as_view(), name="run-retry"),
    path("subscriptions/", views.SubscriptionListCreateView.as_view(), name="subscription-list"),
    path("subscriptions/<int:pk>/", views.SubscriptionDetailView.as_view(), name="subscription-detail"),
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
]
