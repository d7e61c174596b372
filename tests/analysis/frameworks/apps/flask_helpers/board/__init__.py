"""App factory: each views module registers its own blueprint through a hook."""
from flask import Flask

from . import pages
from .user import views as user_views


def create_app():
    app = Flask(__name__)
    app.config["USER_URL_PREFIX"] = "/u"
    user_views.load_blueprints(app)
    pages.init_app(app)
    return app
