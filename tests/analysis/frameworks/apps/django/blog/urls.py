from django.urls import path

from . import views

urlpatterns = [
    path("", views.post_list),
    path("new/", views.post_create),
    path("<int:pk>/", views.PostDetail.as_view()),
    path("<int:pk>/edit/", views.PostEdit.as_view()),
    path("tags/<int:pk>/delete/", views.tag_delete),
]
