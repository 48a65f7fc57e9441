"""The growth planner's pages (SPEC §16), mounted at /planner/."""

from django.urls import path

from kpi import planner_views

app_name = "planner"

urlpatterns = [
    path("", planner_views.planner, name="page"),
    path("scenarios/", planner_views.scenario_save, name="scenario-save"),
    path("scenarios/<int:pk>/delete/", planner_views.scenario_delete, name="scenario-delete"),
]
