from django.urls import path

from clients import views, views_exports

app_name = "clients"

urlpatterns = [
    path("clients/", views.client_list, name="list"),
    path("clients/exports/", views_exports.export_create, name="export-create"),
    path("clients/exports/<uuid:pk>/", views_exports.export_status, name="export"),
    path(
        "clients/exports/<uuid:pk>/download/",
        views_exports.export_download,
        name="export-download",
    ),
    path("clients/<int:pk>/", views.client_detail, name="detail"),
    path("clients/<int:pk>/calls/", views.client_log_call, name="log-call"),
    path("clients/<int:pk>/requests/", views.client_log_request, name="log-request"),
    path("clients/<int:pk>/referrals/", views.client_add_referral, name="add-referral"),
    path("clients/<int:pk>/tasks/", views.client_give_task, name="give-task"),
    path("clients/<int:pk>/reassign/", views.client_reassign_view, name="reassign"),
    path(
        "clients/<int:pk>/requests/<int:request_pk>/resolve/",
        views.client_request_resolve_view,
        name="request-resolve",
    ),
    path(
        "clients/<int:pk>/requests/<int:request_pk>/refuse/",
        views.client_request_refuse_view,
        name="request-refuse",
    ),
    path(
        "clients/<int:pk>/tasks/<int:task_pk>/complete/",
        views.client_task_complete,
        name="task-complete",
    ),
    path("my/", views.my_workspace, name="my"),
    path("my/tasks/<int:task_pk>/complete/", views.my_task_complete, name="my-task-complete"),
]
