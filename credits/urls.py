"""Pages of credits under /credits/."""

from django.urls import path

from credits import views

app_name = "credits"

urlpatterns = [
    path("", views.my_credits, name="my"),
    path("people/<int:pk>/", views.person_credits, name="person"),
    path("entries/<int:pk>/reverse/", views.entry_reverse, name="reverse"),
    path("rankings/", views.rankings, name="rankings"),
    path("compliance/", views.compliance, name="compliance"),
    path("compliance/<int:unit_id>/", views.compliance_unit, name="compliance_unit"),
    path("adjustments/", views.adjustments, name="adjustments"),
    path("rules/", views.rules, name="rules"),
    path("rules/ranking/<int:root_id>/", views.ranking_policy, name="ranking_policy"),
    path("rules/<str:kind>/<int:pk>/delete/", views.rule_delete, name="rule_delete"),
]
