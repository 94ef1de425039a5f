from django.db import models
from django.utils.translation import gettext_lazy as _


class Brand(models.TextChoices):
    GOTONE = "gotone", _("GoTone (全球通)")
    MZONE = "mzone", _("M-Zone (动感地带)")
    SHENZHOUXING = "szx", _("Shenzhouxing (神州行)")


class VipLevel(models.TextChoices):
    NONE = "none", _("Not VIP")
    SILVER = "silver", _("Silver VIP")
    GOLD = "gold", _("Gold VIP")
    DIAMOND = "diamond", _("Diamond VIP")


class Tier(models.TextChoices):
    """The service tier SLA and routing rules key on: VIP customers get faster service."""

    REGULAR = "regular", _("Regular")
    VIP = "vip", _("VIP")
