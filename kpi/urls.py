"""The dashboard's pages (SPEC §6), mounted at /dashboard/."""

from django.urls import path

from kpi import views

app_name = "kpi"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export/<slug:table>.<slug:fmt>", views.export, name="export"),
    path("goal/", views.goal, name="goal"),
    path("recompute/", views.recompute, name="recompute"),
    path("recompute/<uuid:task_id>/", views.recompute_status, name="recompute_status"),
]
