from django.conf import settings
from django.db import models


class Timestamped(models.Model):
    created = models.DateTimeField(auto_now_add=True)
    watchers = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="watched_%(class)s")

    class Meta:
        abstract = True


class Post(Timestamped):
    title = models.CharField(max_length=200)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    tags = models.ManyToManyField("Tag")

    class Meta:
        db_table = "blog_posts"


class Tag(models.Model):
    name = models.CharField(max_length=50)
    parent = models.ForeignKey("self", null=True, on_delete=models.SET_NULL)
    related = models.ManyToManyField("self", db_table="blog_tag_links")


class FeaturedPost(Post):
    class Meta:
        proxy = True
