from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse


@login_required
def roster_import(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError  # being built
