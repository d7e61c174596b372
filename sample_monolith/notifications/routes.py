"""Staff API of the outbox: /api/notifications/... (ops trigger the worker's pass over HTTP)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from sample_monolith.notifications import services
from sample_monolith.utils import parse_int, staff_required

bp = Blueprint("notifications_api", __name__)


@bp.route("/outbox")
@staff_required
def outbox() -> Any:
    limit = parse_int(request.args.get("limit"), 50, minimum=1, maximum=500, name="limit")
    return jsonify({"messages": services.list_outbox(request.args.get("to"),
                                                     request.args.get("status"), limit),
                    "counts": services.outbox_counts()})


@bp.route("/outbox/process", methods=["POST"])
@staff_required
def process() -> Any:
    # Lazy import: the worker module is also a script entry point.
    from sample_monolith.notifications.worker import run_once

    return jsonify(run_once())


@bp.route("/outbox/retry-failed", methods=["POST"])
@staff_required
def retry_failed() -> Any:
    return jsonify({"requeued": services.retry_failed()})
