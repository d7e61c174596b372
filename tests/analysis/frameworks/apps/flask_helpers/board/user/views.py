from flask import Blueprint
from flask.views import MethodView

from board.helpers import register_view


class Settings(MethodView):
    def get(self):
        return "form"

    def post(self):
        return "saved"


class Profile(MethodView):
    def get(self, username):
        return username


def delete_account():
    return "gone"


def load_blueprints(app):
    user = Blueprint("user", __name__)
    register_view(user, routes=["/settings", "/settings/general"],
                  view_func=Settings.as_view("settings"))
    register_view(user, ["/<username>"], Profile.as_view("profile"))
    register_view(user, routes=["/delete"], view_func=delete_account, methods=["post"])
    app.register_blueprint(user, url_prefix=app.config["USER_URL_PREFIX"])
