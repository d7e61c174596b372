"""zou: SECRET_KEY=... ADMIN_TOKEN=x PYTHONPATH=CORPUS/zou python inventory_zou.py OUT.json"""

import sys

import zou.event_stream as es
from common import dump, flask_routes, import_all
from zou.app import app, db

import_all("zou")
apps = [app] + [v for v in vars(es).values() if type(v).__name__ == "Flask" and v is not app]
dump(sys.argv[1], set().union(*(flask_routes(a, "zou") for a in apps)), set(db.metadata.tables))
