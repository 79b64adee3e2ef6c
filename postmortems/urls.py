from django.urls import path

from . import views

app_name = "postmortems"

urlpatterns = [
    path("", views.postmortem_list, name="list"),
    path("start/<slug:reference>/", views.postmortem_start, name="start"),
    path("preview/", views.postmortem_preview, name="preview"),
    path("<int:pk>/", views.postmortem_detail, name="detail"),
    path("<int:pk>/edit/", views.postmortem_edit, name="edit"),
    path("<int:pk>/amend/", views.postmortem_amend, name="amend"),
    path("<int:pk>/submit/", views.postmortem_submit, name="submit"),
    path("<int:pk>/review/", views.postmortem_review, name="review"),
    path("<int:pk>/publish/", views.postmortem_publish, name="publish"),
]
