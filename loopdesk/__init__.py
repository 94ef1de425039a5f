"""LoopDesk: the closed-loop (闭环) complaint and customer-service platform of a mobile operator."""

# The Celery app is loaded with Django so that `@shared_task` functions bind to it.
from loopdesk.celery import app as celery_app

__all__ = ["celery_app"]
