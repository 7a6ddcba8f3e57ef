from django.urls import path

from org.views import pages, roster, system

app_name = "org"

urlpatterns = [
    path("org/units/", pages.unit_list, name="unit_list"),
    path("org/people/", pages.people_list, name="people_list"),
    path("org/people/<int:pk>/", pages.person_detail, name="person_detail"),
    path("org/roster-import/", roster.roster_import, name="roster_import"),
    path("notifications/", pages.notifications, name="notifications"),
    path("notifications/read/", pages.notifications_read, name="notifications_read"),
    path("feedback/", pages.feedback_list, name="feedback_list"),
    path("feedback/new/", pages.feedback_new, name="feedback_new"),
    path("feedback/<int:pk>/", pages.feedback_detail, name="feedback_detail"),
    # System administration (superusers only).
    path("system/units/", system.manage_units, name="manage_units"),
    path("system/cadre-levels/", system.cadre_levels, name="cadre_levels"),
    path("system/grants/", system.grants, name="grants"),
]
