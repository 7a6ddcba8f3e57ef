from django.urls import path

from org.views import pages, roster, system

app_name = "org"

urlpatterns = [
    path("org/units/", pages.unit_list, name="unit_list"),
    path("org/people/", pages.people_list, name="people_list"),
    path("org/people/<int:pk>/", pages.person_detail, name="person_detail"),
    path("org/people/<int:pk>/reset-password/", pages.person_password_reset, name="person_password_reset"),
    path("org/roster-import/", roster.roster_import, name="roster_import"),
    path("org/roster-import/template.xlsx", roster.roster_template, name="roster_template"),
    path("notifications/", pages.notifications, name="notifications"),
    path("notifications/read/", pages.notifications_read, name="notifications_read"),
    path("feedback/", pages.feedback_list, name="feedback_list"),
    path("feedback/new/", pages.feedback_new, name="feedback_new"),
    path("feedback/<int:pk>/", pages.feedback_detail, name="feedback_detail"),
    # System administration (superusers only).
    path("system/units/", system.manage_units, name="manage_units"),
    path("system/cadre-levels/", system.cadre_levels, name="cadre_levels"),
    path("system/grants/", system.grants, name="grants"),
    path("system/units/new/", system.unit_new, name="unit_new"),
    path("system/units/<int:parent_pk>/new-child/", system.unit_new, name="unit_new_child"),
    path("system/units/<int:pk>/edit/", system.unit_edit, name="unit_edit"),
    path("system/units/<int:pk>/move/", system.unit_move, name="unit_move"),
    path("system/cadre-levels/new/", system.cadre_level_edit, name="cadre_level_new"),
    path("system/cadre-levels/<int:pk>/edit/", system.cadre_level_edit, name="cadre_level_edit"),
    path("system/grants/new/", system.grant_new, name="grant_new"),
    path("system/grants/<int:pk>/revoke/", system.grant_revoke, name="grant_revoke"),
    path("system/grants/person-search/", system.person_search, name="person_search"),
]
