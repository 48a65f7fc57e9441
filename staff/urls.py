from django.urls import path

from staff import views, views_otp

app_name = "staff"

urlpatterns = [
    path("", views.team, name="team"),
    path("otp/setup/", views_otp.otp_setup, name="otp-setup"),
    path("otp/verify/", views_otp.otp_verify, name="otp-verify"),
    path("otp/recovery/", views_otp.otp_recovery, name="otp-recovery"),
    path("otp/recovery-codes/", views_otp.otp_recovery_codes, name="otp-recovery-codes"),
    path("refusals/<int:pk>/approve/", views.refusal_approve, name="refusal-approve"),
    path("refusals/<int:pk>/reject/", views.refusal_reject, name="refusal-reject"),
    path("<int:pk>/handover/", views.member_handover, name="handover"),
]
