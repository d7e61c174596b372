from flask import Blueprint

admin_bp = Blueprint("admin", __name__, url_prefix="/adm")


@admin_bp.route("/users")
def users():
    return []
