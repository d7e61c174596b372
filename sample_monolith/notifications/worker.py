"""Background worker: sends the e-mail outbox and expires stale stock reservations.

    python -m sample_monolith.notifications.worker            # loop every 5 s
    python -m sample_monolith.notifications.worker --once     # one pass (cron style)
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from types import FrameType

log = logging.getLogger("sample_monolith.worker")


class _Stop:
    requested = False

    @classmethod
    def handle(cls, signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: finishing the current pass", signum)
        cls.requested = True


def run_once() -> dict[str, int]:
    """One pass; needs an application context."""
    from sample_monolith.inventory import services as inventory_services
    from sample_monolith.notifications import services as notification_services

    expired = inventory_services.sweep_expired()
    counts = notification_services.process_outbox()
    counts["reservations_expired"] = expired
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sample_monolith.notifications.worker",
                                     description="Send queued e-mails and expire reservations.")
    parser.add_argument("--once", action="store_true", help="run one pass and exit")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between passes")
    parser.add_argument("--db", help="SQLite file to use (default: SHOP_DATABASE_URL)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    from sample_monolith.app import create_app

    overrides = {"DATABASE_URL": f"sqlite:///{args.db}"} if args.db else {}
    app = create_app(overrides)
    signal.signal(signal.SIGTERM, _Stop.handle)
    signal.signal(signal.SIGINT, _Stop.handle)
    while True:
        with app.app_context():
            counts = run_once()
        log.info("pass: %s", " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
        if args.once or _Stop.requested:
            print(" ".join(f"{k}={v}" for k, v in sorted(counts.items())))
            return 0
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
