from django.urls import path

from retention import views, views_workspace

app_name = "retention"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("<int:pk>/", views.case_detail, name="case"),
    path("<int:pk>/claim/", views.case_claim, name="claim"),
    path("<int:pk>/attempt/", views.case_attempt, name="attempt"),
    path("<int:pk>/free-month/", views.case_start_free_month, name="free_month"),
    path("<int:pk>/return/", views.case_return, name="return"),
    path("<int:pk>/return/withdraw/", views.case_withdraw_return, name="withdraw-return"),
    path("<int:pk>/decline/", views.case_decline, name="decline"),
    # The workspace itself is /my/ (crm routes it by capability); its task button posts here.
    path(
        "my/tasks/<int:task_pk>/complete/",
        views_workspace.my_task_complete,
        name="my-task-complete",
    ),
]
