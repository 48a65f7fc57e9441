from django.urls import path

from team import views

app_name = "team"

urlpatterns = [
    path("", views.team, name="team"),
    path("refusals/<int:pk>/approve/", views.refusal_approve, name="refusal-approve"),
    path("refusals/<int:pk>/reject/", views.refusal_reject, name="refusal-reject"),
    path("<int:pk>/handover/", views.member_handover, name="handover"),
]
