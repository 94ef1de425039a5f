"""URLs of TMF621 v4, mounted at /tmf-api/troubleTicket/v4/ (resource paths as in the spec, no trailing slash)."""

from django.urls import path

from loopdesk.tmf.v4 import views

app_name = "tmf621v4"
urlpatterns = [
    path("troubleTicket", views.TroubleTicketListView.as_view(), name="ticket-list"),
    path("troubleTicket/<str:id>", views.TroubleTicketDetailView.as_view(), name="ticket-detail"),
    path("troubleTicket/<str:id>/attachment/<str:attachment_id>", views.AttachmentContentView.as_view(),
         name="ticket-attachment"),
    path("hub", views.HubView.as_view(), name="hub"),
    path("hub/<str:id>", views.HubDetailView.as_view(), name="hub-detail"),
    path("<path:rest>", views.NotFoundView.as_view()),
]
