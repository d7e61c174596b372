from flask.views import MethodView

from . import bp


@bp.route("/", methods=["GET", "POST"])
def index():
    return "index"


@bp.get("/<int:pid>")
def show(pid):
    return str(pid)


class ExportView(MethodView):
    def get(self):
        return "csv"

    def post(self):
        return "queued"


bp.add_url_rule("/export", view_func=ExportView.as_view("export"))
