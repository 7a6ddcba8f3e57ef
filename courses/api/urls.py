"""Routes of the courses API, mounted at /api/v1/courses/ by learning_portal/urls.py."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from courses.api import views

# Typed ids (<int:pk>) so the schema says "integer"; no ".json" suffix routes.
router = DefaultRouter(use_regex_path=False)
router.include_format_suffixes = False
router.register("courses", views.CourseViewSet, basename="course")
router.register("lessons", views.LessonViewSet, basename="lesson")
router.register("recommendations", views.RecommendationViewSet, basename="recommendation")
router.register("categories", views.CategoryViewSet, basename="category")
router.register("manage/courses", views.ManageCourseViewSet, basename="manage-course")
router.register("manage/lessons", views.ManageLessonViewSet, basename="manage-lesson")
router.register("manage/audiences", views.ManageAudienceViewSet, basename="manage-audience")
router.register("manage/pushes", views.PushViewSet, basename="push")

app_name = "courses-api"

urlpatterns = [
    path("my/", views.MyCoursesView.as_view(), name="my"),
    path("live/", views.LiveView.as_view(), name="live"),
    path("dynamic/", views.DynamicView.as_view(), name="dynamic"),
    path("", include(router.urls)),
]
