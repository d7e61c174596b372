INSTALLED_APPS = [
    "django.contrib.auth",
    "blog",
    "shop.apps.ShopConfig",
]
INSTALLED_APPS += ["accounts"]
ROOT_URLCONF = "mysite.urls"
AUTH_USER_MODEL = "accounts.User"
