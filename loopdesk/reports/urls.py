from django.urls import path

from loopdesk.reports import views

app_name = "reports"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("table/", views.table_view, name="table"),
    path("tickets/", views.tickets_view, name="tickets"),
    path("scorecard/", views.scorecard_view, name="scorecard"),
    path("files/", views.files_view, name="files"),
    path("files/<int:pk>/", views.file_download, name="file"),
    path("import/", views.import_view, name="import"),
    path("import/jobs/<int:pk>/", views.import_job_view, name="import_job"),
    path("import/jobs/<int:pk>/problems.<str:fmt>", views.import_job_problems, name="import_job_problems"),
]
