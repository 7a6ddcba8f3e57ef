"""Page routes of the courses app (the API is in courses/api/urls.py)."""

from django.urls import path

from courses.views import learner, manage, player

app_name = "courses"

urlpatterns = [
    path("courses/", learner.catalog, name="catalog"),
    path("courses/mine/", learner.my_courses, name="my_courses"),
    path("courses/colleagues/", learner.colleague_search, name="colleague_search"),
    path("courses/<int:pk>/", learner.course_detail, name="course_detail"),
    path("courses/<int:pk>/enrol/", learner.enrol, name="enrol"),
    path("courses/<int:pk>/like/", learner.like, name="like"),
    path("courses/<int:pk>/rate/", learner.rate, name="rate"),
    path("courses/<int:pk>/recommend/", learner.recommend, name="recommend"),
    path("courses/<int:pk>/learners/", learner.learners, name="learners"),
    path("courses/<int:pk>/lessons/<int:lesson_pk>/", learner.lesson_player, name="lesson_player"),
    path("courses/<int:pk>/lessons/<int:lesson_pk>/file/", learner.lesson_file, name="lesson_file"),
    path("courses/heartbeat/<int:lesson_pk>/", player.heartbeat, name="heartbeat"),
    # Administration and dynamic management (动态管理).
    path("courses/manage/", manage.manage_list, name="manage_list"),
    path("courses/manage/new/", manage.course_new, name="course_new"),
    path("courses/manage/<int:pk>/", manage.course_edit, name="course_edit"),
    path("courses/manage/<int:pk>/status/", manage.course_status, name="course_status"),
    path("courses/manage/<int:pk>/lessons/", manage.manage_lessons, name="manage_lessons"),
    path("courses/manage/<int:pk>/lessons/<int:lesson_pk>/", manage.lesson_edit, name="lesson_edit"),
    path("courses/manage/<int:pk>/lessons/<int:lesson_pk>/delete/", manage.lesson_delete, name="lesson_delete"),
    path("courses/manage/<int:pk>/lessons/<int:lesson_pk>/move/", manage.lesson_move, name="lesson_move"),
    path("courses/manage/<int:pk>/audience/", manage.course_audience, name="course_audience"),
    path("courses/manage/<int:pk>/push/", manage.course_push, name="course_push"),
    path("courses/dynamic/", manage.dynamic, name="dynamic"),
]
