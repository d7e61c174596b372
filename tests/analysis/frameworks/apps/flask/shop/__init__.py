"""App factory: registers blueprints with prefixes."""
from flask import Flask

from . import views
from .api import api_bp
from .catalog import bp as catalog_bp


def create_app():
    app = Flask(__name__)
    app.register_blueprint(catalog_bp, url_prefix="/catalog")
    app.register_blueprint(api_bp)
    app.add_url_rule("/about", "about", views.about)
    from .admin import admin_bp  # a lazy import, as factories often do

    app.register_blueprint(admin_bp, url_prefix="/admin")

    @app.route("/health")
    def health():
        return "ok"

    return app
