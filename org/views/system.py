from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse


@login_required
def manage_units(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError  # being built


@login_required
def cadre_levels(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError  # being built


@login_required
def grants(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError  # being built
