"""``python -m faults``: the command line of the fault-injection suite (``make faults``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from faults.suite import SuiteOptions, run_suite


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    defaults = SuiteOptions()
    parser = argparse.ArgumentParser(
        prog="python -m faults",
        description="Run session lifecycles under injected faults (worker kills, Temporal restarts, "
        "Stripe failures, notification outages, duplicated and reordered webhooks), then check "
        "every session against the rules. Exits 1 on any violation.",
    )
    parser.add_argument("--lifecycles", type=int, default=defaults.lifecycles)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency, help="lifecycles in flight")
    parser.add_argument("--kills", type=int, default=defaults.kills, help="worker SIGKILLs")
    parser.add_argument("--restarts", type=int, default=defaults.restarts, help="Temporal server restarts")
    parser.add_argument("--outages", type=int, default=defaults.outages, help="notification endpoint outages")
    parser.add_argument(
        "--hour-seconds",
        type=float,
        default=defaults.hour_seconds,
        help="real seconds per policy hour (48 h of notice = 48 × this)",
    )
    parser.add_argument("--stripe-fault-rate", type=float, default=defaults.stripe_fault_rate)
    parser.add_argument("--report", type=Path, default=None, help="write the JSON report here")
    parser.add_argument("--data-dir", type=Path, default=None, help="keep state and logs here")
    parser.add_argument("--keep-data", action="store_true", help="keep the temporary data directory")
    args = parser.parse_args(argv)
    if args.lifecycles < 1 or args.concurrency < 1 or args.hour_seconds <= 0:
        parser.error("--lifecycles and --concurrency must be positive, --hour-seconds above 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    options = SuiteOptions(
        lifecycles=args.lifecycles,
        seed=args.seed,
        concurrency=args.concurrency,
        kills=args.kills,
        restarts=args.restarts,
        outages=args.outages,
        hour_seconds=args.hour_seconds,
        stripe_fault_rate=args.stripe_fault_rate,
        data_dir=args.data_dir,
        keep_data=args.keep_data,
    )
    report = asyncio.run(run_suite(options))
    report.print(sys.stdout)
    if args.report is not None:
        report.write(args.report)
        sys.stdout.write(f"JSON report: {args.report}\n")
    return 0 if report.ok else 1
