"""URLs of the workbench (the staff web UI)."""

from django.urls import path

from loopdesk.workbench.views import board, desk, followup, home, messaging, policies, queues, tickets

app_name = "workbench"

urlpatterns = [
    path("", home.home, name="home"),
    path("me/language/", home.set_language, name="set_language"),
    path("find/", home.find_ticket, name="find"),
    path("desk/", desk.desk, name="desk"),
    path("desk/preview/", desk.desk_preview, name="desk_preview"),
    path("desk/reveal/", desk.desk_reveal, name="desk_reveal"),
    path("tickets/<int:pk>/", tickets.ticket_detail, name="ticket"),
    path("tickets/<int:pk>/act/<slug:action>/", tickets.ticket_action, name="ticket_action"),
    path("tickets/<int:pk>/note/", tickets.add_note, name="ticket_note"),
    path("tickets/<int:pk>/attach/", tickets.add_attachment, name="ticket_attach"),
    path("tickets/<int:pk>/files/<int:attachment_id>/", tickets.download_attachment, name="ticket_file"),
    path("tickets/<int:pk>/link/", tickets.add_link, name="ticket_link"),
    path("tickets/<int:pk>/committed-time/", tickets.change_committed_time, name="ticket_commit_time"),
    path("tickets/<int:pk>/reveal/", tickets.reveal_customer, name="ticket_reveal"),
    path("board/", board.board, name="board"),
    path("board/escalate/<int:pk>/", board.escalate, name="board_escalate"),
    path("policies/", policies.policies, name="policies"),
    path("policies/preview/", policies.policy_preview, name="policy_preview"),
    path("queues/bulk-dispatch/", queues.bulk_dispatch, name="bulk_dispatch"),
    path("queues/<slug:key>/", queues.queue, name="queue"),
    # Follow-up: callbacks (回访), escalations, staff alerts, window surveys, SMS templates, spam reports.
    path("callbacks/", followup.callbacks, name="callbacks"),
    path("callbacks/<int:task_id>/record/", followup.record_callback, name="callback_record"),
    path("escalations/", followup.escalations, name="escalations"),
    path("escalations/<int:pk>/resolve/", followup.resolve_escalation, name="escalation_resolve"),
    path("alerts/", followup.alerts, name="alerts"),
    path("alerts/read/", followup.alerts_read, name="alerts_read"),
    path("desk/window-survey/", followup.window_survey, name="window_survey"),
    path("sms-templates/", messaging.templates, name="sms_templates"),
    path("sms-templates/<slug:kind>/", messaging.edit_template, name="sms_template"),
    path("sms-templates/<slug:kind>/preview/", messaging.preview_template, name="sms_template_preview"),
    path("spam/", messaging.spam_reports, name="spam"),
    path("spam/<int:pk>/reveal/", messaging.reveal_reporter, name="spam_reveal"),
]
