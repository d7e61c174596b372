"""``python -m sample_monolith``: serve the shop (creating and seeding the database first)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sample_monolith",
        description="Serve Peach State Provisions, a Flask + SQLAlchemy grocery shop. The SQLite "
                    "database is created and seeded on first start.",
        epilog="Environment: SHOP_DATABASE_URL, SHOP_SECRET_KEY, SHOP_INSTANCE_DIR, "
               "SHOP_STAFF_EMAIL, SHOP_STAFF_PASSWORD, SHOP_MAIL_BACKEND (see config.py).")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port (default 5000; 0 = any)")
    parser.add_argument("--db", type=Path, help="SQLite file (default: instance/shop.sqlite3)")
    parser.add_argument("--debug", action="store_true", help="Flask debug mode with reloader")
    parser.add_argument("--no-seed", action="store_true", help="do not load demo data")
    parser.add_argument("--init-only", action="store_true",
                        help="create and seed the database, then exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides: dict[str, object] = {}
    if args.db:
        overrides["DATABASE_URL"] = f"sqlite:///{args.db.resolve()}"
    if args.no_seed:
        overrides["SEED_ON_START"] = False

    from sample_monolith.app import create_app

    app = create_app(overrides)
    if args.init_only:
        print(f"database ready: {app.config['DATABASE_URL']}")
        return 0
    if args.port == 0:
        from werkzeug.serving import make_server

        server = make_server(args.host, 0, app, threaded=True)
        print(f"serving on http://{args.host}:{server.server_port}", flush=True)
        server.serve_forever()
        return 0
    print(f"serving on http://{args.host}:{args.port}", flush=True)
    app.run(host=args.host, port=args.port, debug=args.debug, threaded=True,
            use_reloader=args.debug and os.environ.get("SHOP_NO_RELOAD") is None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
