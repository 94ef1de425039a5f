"""URL configuration of LoopDesk."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from loopdesk.tickets.api.views import ApiNotFoundView

urlpatterns = [
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
