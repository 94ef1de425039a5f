"""django-axes (sign-in protection) installed under a name staff understand in the admin. In a module of its own:
a second AppConfig in loopdesk/org/apps.py would make Django stop choosing OrgConfig for loopdesk.org."""

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _


class SignInProtectionConfig(AxesAppConfig):
    """Failed sign-ins counted; a user name locked out from an address after too many (settings: AXES_*)."""

    verbose_name = _("Sign-in protection")
