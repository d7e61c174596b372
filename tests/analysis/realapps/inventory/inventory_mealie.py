"""mealie: DATA_DIR=... PRODUCTION=false PYTHONPATH=CORPUS/mealie:STUBS python inventory_mealie.py OUT"""

import sys

from common import dump, import_all, starlette_routes
from mealie.app import app

routes = starlette_routes(app.routes, "mealie")
import_all("mealie")
from mealie.db.models._model_base import SqlAlchemyBase  # noqa: E402

dump(sys.argv[1], routes, set(SqlAlchemyBase.metadata.tables))
