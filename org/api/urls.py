"""Routes of the org API under /api/v1/ (included by learning_portal/urls.py)."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from org.api import views

router = DefaultRouter()
router.register("org/units", views.OrgUnitViewSet, basename="orgunit")
router.register("org/people", views.PersonViewSet, basename="person")
router.register("org/cadre-levels", views.CadreLevelViewSet, basename="cadrelevel")
router.register("notifications", views.NotificationViewSet, basename="notification")
router.register("feedback", views.FeedbackViewSet, basename="feedback")

app_name = "org-api"

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("", include(router.urls)),
]
