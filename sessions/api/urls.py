from django.urls import include, path
from rest_framework.routers import DefaultRouter

from sessions.api import views

router = DefaultRouter()
router.register("tracks", views.TrackViewSet, basename="lectures-track")
router.register("speakers", views.SpeakerViewSet, basename="lectures-speaker")
router.register("venues", views.VenueViewSet, basename="lectures-venue")
router.register("menus", views.MenuViewSet, basename="lectures-menu")
router.register("menu-topics", views.MenuTopicViewSet, basename="lectures-menu-topic")
router.register("wishes", views.WishViewSet, basename="lectures-wish")
router.register("declarations", views.DeclarationViewSet, basename="lectures-declaration")
router.register("plans", views.PlanViewSet, basename="lectures-plan")
router.register("plan-items", views.PlanItemViewSet, basename="lectures-plan-item")
router.register("classes", views.SessionViewSet, basename="lectures-class")

urlpatterns = [
    path("declarations-owed/", views.DeclarationsOwedView.as_view(), name="lectures-declarations-owed"),
    path("check-in/", views.CheckinByCodeView.as_view(), name="lectures-checkin-code"),
    path("attendance-export/", views.AttendanceExportView.as_view(), name="lectures-attendance-export"),
    path("calendar-feed/", views.CalendarFeedView.as_view(), name="lectures-calendar-feed"),
    path("", include(router.urls)),
]
