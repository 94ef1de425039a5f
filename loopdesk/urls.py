"""URL configuration of LoopDesk."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from loopdesk.tickets.api.views import ApiNotFoundView


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on every page that names no icon (the admin, the API docs): the site's icon,
    not a 404 in every console."""
    return redirect(static("loopdesk/favicon.svg"), permanent=True)


urlpatterns = [
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("loopdesk.tickets.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^api/(?:.*/)?$", ApiNotFoundView.as_view()),  # the rest of /api/: a JSON 404, not an HTML page
    path("tmf-api/", include("loopdesk.tmf.urls")),
    path("", include("loopdesk.surveys.urls")),  # inbound SMS webhook (sms/inbound/), one-time survey links (s/…/)
    path("reports/", include("loopdesk.reports.urls")),
    path("", include("loopdesk.workbench.urls")),
]
