from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from crm import views
from staff.forms import LoginForm

admin.site.site_header = _("Abonent CRM administration")
admin.site.site_title = _("Abonent CRM")
admin.site.index_title = _("Data")

# Every 403 of the pages is recorded as a security event (RELIABILITY R26).
handler403 = "crm.views.permission_denied"

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            authentication_form=LoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz/", views.health, name="health"),
    path("healthz/worker/", views.health_worker, name="health-worker"),
    # /my/ is every role's workspace: crm picks the app's page by capability. It comes before
    # clients/urls.py, which holds /clients/… and the book keeper's /my/ pages under one
    # "clients" namespace (``clients:my`` reverses to this same path).
    path("my/", views.my_workspace, name="workspace"),
    path("", include("clients.urls")),
    path("inbox/", include("inbox.urls")),
    path("team/", include("team.urls")),
    path("team/", include("staff.urls")),
    path("retention/", include("retention.urls")),
    path("referrals/", include("referrals.urls")),
    path("dashboard/", include("kpi.urls")),
    path("planner/", include("kpi.planner_urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("crm.api_router")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.STATIC_URL, document_root=settings.STATIC_ROOT)
