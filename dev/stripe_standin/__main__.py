"""Run the Stripe stand-in as a process: ``python -m dev.stripe_standin --port 12111``."""

from __future__ import annotations

import argparse

from ..loopback import announce_listening, parse_service_args, serve_until_signalled, service_parser
from .server import StripeStandIn


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = service_parser(
        "python -m dev.stripe_standin",
        "Serve the loopback Stripe stand-in until SIGINT/SIGTERM.",
        default_port=12111,
    )
    parser.add_argument("--webhook-url", default=None, help="where to POST signed events")
    parser.add_argument("--webhook-secret", default=None, help="whsec_… used to sign events")
    args = parse_service_args(parser, argv, StripeStandIn._label)
    if (args.webhook_url is None) != (args.webhook_secret is None):
        parser.error("--webhook-url and --webhook-secret must be given together")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    standin = StripeStandIn(
        host=args.host,
        port=args.port,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
    )
    return serve_until_signalled(standin, announce_listening(standin, "stripe stand-in"))


if __name__ == "__main__":
    raise SystemExit(main())
