"""Texts of Django's own admin templates that Django's zh-Hans catalogue does not translate (yet), listed here so
that makemessages puts them into LoopDesk's catalogue, which wins at run time (LOCALE_PATHS). Never imported."""

from django.utils.translation import gettext_noop

DJANGO_ADMIN_TEXTS = (
    gettext_noop("Model name"),  # admin/app_list.html: the visually hidden table heading (screen readers)
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    gettext_noop("After you’ve created a user, you’ll be able to edit more user options."),  # auth/user/add_form
)

# django-axes (sign-in protection) has no Chinese catalogue: its models' names, shown in the admin (also those it
# does not list: their permissions are offered on the role and staff pages).
AXES_TEXTS = (
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
    gettext_noop("Username"),
    gettext_noop("IP Address"),
    gettext_noop("User Agent"),
    gettext_noop("Path"),
    gettext_noop("Attempt Time"),
    gettext_noop("Failed Logins"),
    gettext_noop("Logout Time"),
)
