from django.urls import include, path
from rest_framework.routers import DefaultRouter

from evaluations.api import views

router = DefaultRouter()
router.register("surveys", views.SurveyViewSet, basename="evaluations-survey")
router.register("survey-templates", views.SurveyTemplateViewSet, basename="evaluations-survey-template")
router.register("participation-ratings", views.ParticipationRatingViewSet, basename="evaluations-rating")
router.register("award-types", views.AwardTypeViewSet, basename="evaluations-award-type")
router.register("awards", views.AwardViewSet, basename="evaluations-award")
router.register("honours", views.HonoursViewSet, basename="evaluations-honour")
router.register("appraisals", views.AppraisalViewSet, basename="evaluations-appraisal")
router.register("question-tags", views.QuestionTagViewSet, basename="evaluations-question-tag")
router.register("questions", views.QuestionViewSet, basename="evaluations-question")
router.register("exams", views.ExamViewSet, basename="evaluations-exam")
router.register("attempts", views.AttemptViewSet, basename="evaluations-attempt")

urlpatterns = [
    path("survey-forms/", views.PendingSurveysView.as_view(), name="evaluations-pending-surveys"),
    path("survey-forms/<int:session_id>/", views.SurveyFormView.as_view(), name="evaluations-survey-form"),
    path("lecturer-stats/", views.LecturerStatsView.as_view(), name="evaluations-lecturer-stats"),
    path("", include(router.urls)),
]
