from django.shortcuts import get_object_or_404
from django.views import View
from django.views.decorators.http import require_GET
from django.views.generic import DetailView

from .models import Post, Tag


@require_GET
def post_list(request):
    return list(Post.objects.filter(title__startswith="a"))


def post_create(request):
    post = Post(title="new")
    post.save()
    return post


class PostDetail(DetailView):
    model = Post


class PostEdit(View):
    def get(self, request, pk):
        return None

    def post(self, request, pk):
        return None


def legacy(request, slug):
    return slug


def post_list_api(request):
    return []


def tag_delete(request, pk):
    Tag.objects.filter(pk=pk).delete()


def post_publish(request, pk):
    post = get_object_or_404(Post, pk=pk)
    post.save()


def tag_posts(request, pk):
    return list(Tag.objects.get(pk=pk).post_set.all())
