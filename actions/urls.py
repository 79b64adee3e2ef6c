from django.urls import path

from . import views

app_name = "actions"

urlpatterns = [
    path("", views.my_items, name="mine"),
    path("board/", views.board, name="board"),
    path("preferences/", views.preferences, name="preferences"),
    path("outbox/", views.outbox, name="outbox"),
    path("teams/<slug:slug>/", views.team_items, name="team"),
    path("<str:reference>/", views.detail, name="detail"),
    path("<str:reference>/status/", views.change_status, name="status"),
    path("<str:reference>/comments/", views.comment, name="comment"),
]
