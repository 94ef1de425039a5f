"""The TMF Open APIs: /tmf-api/troubleTicket/v4/ (a v5 module can be mounted beside it)."""

from django.urls import include, path

urlpatterns = [
    path("troubleTicket/v4/", include("loopdesk.tmf.v4.urls")),
]
