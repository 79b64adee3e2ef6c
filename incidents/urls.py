from django.urls import path

from . import views

app_name = "incidents"

urlpatterns = [
    path("", views.incident_list, name="list"),
    path("new/", views.incident_declare, name="declare"),
    path("<slug:reference>/", views.incident_detail, name="detail"),
    path("<slug:reference>/edit/", views.incident_edit, name="edit"),
    path("<slug:reference>/mark/<slug:milestone>/", views.incident_mark, name="mark"),
    path("<slug:reference>/failure-classes/confirm/", views.incident_confirm_class, name="confirm-class"),
    path("<slug:reference>/timeline/add/", views.timeline_add, name="timeline-add"),
    path("<slug:reference>/timeline/<int:pk>/edit/", views.timeline_edit, name="timeline-edit"),
    path("<slug:reference>/timeline/<int:pk>/delete/", views.timeline_delete, name="timeline-delete"),
]
