"""Our own REST API under /api/ (the TMF621 API is under /tmf-api/). Schema: /api/schema/, docs: /api/docs/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from loopdesk.customers.api.views import CustomerViewSet
from loopdesk.tickets.api import views

router = SimpleRouter()
router.register("tickets", views.TicketViewSet, basename="api-ticket")
router.register("customers", CustomerViewSet, basename="api-customer")
router.register("categories", views.CategoryViewSet, basename="api-category")
router.register("units", views.UnitViewSet, basename="api-unit")

urlpatterns = [
    path("routing/preview/", views.RoutePreviewView.as_view(), name="api-route-preview"),
    *router.urls,
]
