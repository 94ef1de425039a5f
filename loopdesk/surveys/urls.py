from django.urls import path

from loopdesk.surveys import views

app_name = "surveys"
urlpatterns = [
    path("sms/inbound/", views.inbound_sms, name="inbound-sms"),
    path("s/<str:token>/", views.survey_page, name="survey"),
]
