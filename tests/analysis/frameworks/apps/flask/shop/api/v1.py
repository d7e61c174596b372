from flask import Blueprint

v1_bp = Blueprint("v1", __name__)


@v1_bp.route("/ping")
def ping():
    return "pong"


@v1_bp.delete("/items/<int:item_id>")
def remove(item_id):
    return "", 204
