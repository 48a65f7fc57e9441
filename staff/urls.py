from django.urls import path

from staff import views_otp

app_name = "staff"

urlpatterns = [
    path("otp/setup/", views_otp.otp_setup, name="otp-setup"),
    path("otp/verify/", views_otp.otp_verify, name="otp-verify"),
    path("otp/recovery/", views_otp.otp_recovery, name="otp-recovery"),
    path("otp/recovery-codes/", views_otp.otp_recovery_codes, name="otp-recovery-codes"),
]
