"""`python -m reconciler_local serve|up|down|status|reset` (the `reconcile local` CLI calls lifecycle.py)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path

from reconciler.errors import LocalEndpointError
from reconciler_local import lifecycle
from reconciler_local.moto_support import check_moto


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reconciler_local",
        description="The reconciler's local AWS endpoint (moto + our additions).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="serve in the foreground until SIGTERM/SIGINT")
    serve_parser.add_argument("--host", default="127.0.0.1")
    serve_parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve_parser.add_argument("--state-file", type=Path, help="write {url,port,pid,started_at} here once up")
    serve_parser.add_argument("--data-file", type=Path,
                              help="keep the endpoint's state (buckets, roles, Glue, runs) here across restarts")
    serve_parser.add_argument("--log-level", default="INFO")
    serve_parser.add_argument("--log-file", type=Path,
                              help="where this process's output goes (named in its internal-error answers)")
    for name, text in (("up", "start in the background"), ("down", "stop the background endpoint"),
                       ("status", "show the background endpoint")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--state-dir", type=Path, default=lifecycle.DEFAULT_STATE_DIR)
        if name == "up":
            sub.add_argument("--port", type=int, default=None)
    reset_parser = commands.add_parser("reset", help="reset the endpoint at URL")
    reset_parser.add_argument("url")
    args = parser.parse_args(argv)

    if args.command == "serve":
        logging.basicConfig(level=args.log_level.upper(),
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "serve":
            check_moto()  # before moto (or a graft onto it) is imported: a moved name fails at import
            from reconciler_local.server import serve

            return serve(args.host, args.port, args.state_file, args.data_file, args.log_file)
        if args.command == "up":
            print(json.dumps(asdict(lifecycle.up(args.state_dir, args.port))))
        elif args.command == "down":
            print("stopped" if lifecycle.down(args.state_dir) else "not running")
        elif args.command == "status":
            state = lifecycle.status(args.state_dir)
            print(json.dumps(asdict(state)) if state else "not running")
            return 0 if state else 1
        else:
            lifecycle.reset(args.url)
    except LocalEndpointError as error:
        print(f"error: {error.message}" + (f"\n{error.hint}" if error.hint else ""), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
