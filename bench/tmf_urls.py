"""The application's URLs plus /bench/trivial: a plain Django view through the same middleware (the baseline)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from loopdesk.urls import urlpatterns as app_urlpatterns


def trivial(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("bench/trivial", trivial), *app_urlpatterns]
