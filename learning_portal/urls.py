from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from org.views import pages

api_v1 = [
    path("", include("org.api.urls")),
    path("credits/", include("credits.api.urls")),
    path("lectures/", include("sessions.api.urls")),
    path("courses/", include("courses.api.urls")),
    path("evaluations/", include("evaluations.api.urls")),
    path("reports/", include("reports.api.urls")),
]

urlpatterns = [
    path("", pages.home, name="home"),
    path("healthz", pages.healthz, name="healthz"),
    path("accounts/password_change/", pages.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("", include("org.urls")),
    path("credits/", include("credits.urls")),
    path("", include("sessions.urls")),
    path("", include("courses.urls")),
    path("", include("evaluations.urls")),
    path("reports/", include("reports.urls")),
]

handler400 = "learning_portal.errors.bad_request"
handler403 = "learning_portal.errors.permission_denied"
handler404 = "learning_portal.errors.page_not_found"
handler500 = "learning_portal.errors.server_error"
