"""Django's admin app with the project's admin site as its default site (RELIABILITY R09)."""

from django.contrib.admin.apps import AdminConfig


class OtpAdminConfig(AdminConfig):
    default_site = "staff.two_factor.OtpAdminSite"
