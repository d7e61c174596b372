"""lemur: PYTHONPATH=CORPUS/lemur:STUBS python inventory_lemur.py OUT.json CORPUS/lemur/lemur/tests/conf.py

STUBS holds an empty ``ldap`` package (python-ldap cannot build here)."""

import sys

import lemur
import lemur.factory
from common import dump, flask_routes, import_all

# plug-ins come from entry points of an installed lemur, and none registers routes
lemur.factory.install_plugins = lambda app: None
app = lemur.create_app(sys.argv[2])
import_all("lemur")
from lemur.extensions import db  # noqa: E402

dump(sys.argv[1], flask_routes(app, "lemur"), set(db.metadata.tables))
