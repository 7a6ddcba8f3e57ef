"""Routes of the credits API under /api/v1/credits/ (included by learning_portal/urls.py)."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from credits.api import views

router = DefaultRouter()
router.register("entries", views.EntryViewSet, basename="credit-entry")
router.register("adjustments", views.AdjustmentViewSet, basename="credit-adjustment")
router.register("source-rules", views.SourceRuleViewSet, basename="credit-source-rule")
router.register("award-rules", views.AwardRuleViewSet, basename="credit-award-rule")
router.register("requirements", views.RequirementViewSet, basename="credit-requirement")
router.register("ranking-policies", views.RankingPolicyViewSet, basename="credit-ranking-policy")

app_name = "credits-api"

urlpatterns = [
    path("me/", views.MyCreditsView.as_view(), name="me"),
    path("rankings/people/", views.PeopleRankingView.as_view(), name="rankings-people"),
    path("rankings/units/", views.UnitsRankingView.as_view(), name="rankings-units"),
    path("compliance/", views.ComplianceView.as_view(), name="compliance"),
    path("policy/", views.PolicyView.as_view(), name="policy"),
    path("", include(router.urls)),
]
