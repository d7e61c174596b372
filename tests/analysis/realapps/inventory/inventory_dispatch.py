"""dispatch: DISPATCH_ENCRYPTION_KEY=... PYTHONPATH=CORPUS/dispatch/src python inventory_dispatch.py OUT"""

import sys

from common import dump, import_all, starlette_routes
from dispatch.main import app

routes = starlette_routes(app.routes, "dispatch")
import_all("dispatch")
from dispatch.database.core import Base  # noqa: E402

dump(sys.argv[1], routes, {t.name for t in Base.metadata.tables.values()})
