"""The referral pipeline's pages (SPEC §14), mounted at /referrals/."""

from django.urls import path

from referrals import views

app_name = "referrals"

urlpatterns = [
    path("", views.board, name="board"),
    path("<int:pk>/", views.lead, name="lead"),
    path("<int:pk>/move/", views.lead_move, name="move"),
    path("<int:pk>/lose/", views.lead_lose, name="lose"),
    path("<int:pk>/win/", views.lead_win, name="win"),
    path("<int:pk>/give/", views.lead_give, name="give"),
]
