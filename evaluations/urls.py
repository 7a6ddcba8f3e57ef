from django.urls import path

from evaluations.views import awards, exams, surveys

app_name = "evaluations"

urlpatterns = [
    # Surveys (测评)
    path("evaluations/", surveys.survey_list, name="survey_list"),
    path("evaluations/classes/<int:pk>/survey/", surveys.survey_form, name="survey_form"),
    path("evaluations/classes/<int:pk>/results/", surveys.survey_results, name="survey_results"),
    path("evaluations/classes/<int:pk>/anonymity/", surveys.survey_anonymity, name="survey_anonymity"),
    path("evaluations/classes/<int:pk>/participation/", surveys.participation, name="participation"),
    path("evaluations/lecturers/", surveys.lecturer_stats, name="lecturer_stats"),
    path("evaluations/survey-questions/", surveys.survey_templates, name="survey_templates"),
    # Honours (荣誉榜) and awards
    path("evaluations/honours/", awards.honours, name="honours"),
    path("evaluations/awards/", awards.award_admin, name="award_admin"),
    path("evaluations/awards/nominate/", awards.award_nominate, name="award_nominate"),
    path("evaluations/awards/compute/", awards.award_compute, name="award_compute"),
    path("evaluations/awards/<int:pk>/confirm/", awards.award_confirm, name="award_confirm"),
    path("evaluations/awards/<int:pk>/reject/", awards.award_reject, name="award_reject"),
    path("evaluations/awards/<int:pk>/revoke/", awards.award_revoke, name="award_revoke"),
    path("evaluations/appraisals/", awards.appraisal_import, name="appraisal_import"),
    # Exams (考试)
    path("evaluations/exams/", exams.exam_list, name="exam_list"),
    path("evaluations/exams/<int:pk>/", exams.exam_detail, name="exam_detail"),
    path("evaluations/exams/<int:pk>/start/", exams.exam_start, name="exam_start"),
    path("evaluations/attempts/<int:pk>/", exams.attempt_take, name="attempt_take"),
    path("evaluations/attempts/<int:pk>/result/", exams.attempt_result, name="attempt_result"),
    path("evaluations/manage/exams/", exams.exam_manage, name="exam_manage"),
    path("evaluations/manage/exams/new/", exams.exam_edit, name="exam_new"),
    path("evaluations/manage/exams/<int:pk>/", exams.exam_results, name="exam_results"),
    path("evaluations/manage/exams/<int:pk>/edit/", exams.exam_edit, name="exam_edit"),
    path("evaluations/manage/exams/<int:pk>/publish/", exams.exam_publish, name="exam_publish"),
    path("evaluations/manage/exams/<int:pk>/withdraw/", exams.exam_withdraw, name="exam_withdraw"),
    path("evaluations/manage/exams/<int:pk>/copy/", exams.exam_copy, name="exam_copy"),
    path("evaluations/manage/questions/", exams.question_bank, name="question_bank"),
    path("evaluations/manage/questions/new/", exams.question_edit, name="question_new"),
    path("evaluations/manage/questions/<int:pk>/edit/", exams.question_edit, name="question_edit"),
    path("evaluations/manage/questions/import/", exams.question_import, name="question_import"),
]
