from flask import Blueprint

from . import helpers

pages = Blueprint("pages", __name__, url_prefix="/own")


def about():
    return "about"


helpers.add_page(pages, "/about", about, ["GET", "HEAD"])


def init_app(app):
    app.register_blueprint(pages, url_prefix="/pages")
