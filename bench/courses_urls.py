"""The project's URLs plus the benchmark's baseline: a bare view that reads one row and
renders about 1 KB (what the issue compares the course pages against)."""

from django.http import HttpRequest, HttpResponse
from django.template import Context, Engine
from django.urls import path

from learning_portal.urls import urlpatterns as project_urlpatterns
from org.models import CadreLevel

_TEMPLATE = Engine().from_string(
    "<!doctype html><html><head><title>{{ row.name }}</title></head><body>"
    "{% for i in lines %}<p>{{ row.name }} · {{ row.code }} · line {{ i }} of the baseline page.</p>{% endfor %}"
    "</body></html>"
)
_LINES = list(range(16))


def baseline(request: HttpRequest) -> HttpResponse:
    row = CadreLevel.objects.order_by("pk").first()
    return HttpResponse(_TEMPLATE.render(Context({"row": row, "lines": _LINES})))


urlpatterns = [path("bench/baseline/", baseline), *project_urlpatterns]
