"""``python -m expense_sync_sandboxes serve --port dingtalk=18101 --port ekuaibao=18103 …``

Serves each named vendor's sandbox on its own port from one process, until SIGINT/SIGTERM. Served
this way, 合思 starts with demo data (staff, dimensions, approved travel claims: option ``demo``),
so that an SDK run against it finds claims; ``--empty`` starts every vendor empty (what the test
cluster does: each test seeds what it needs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal

import uvicorn

from expense_sync_sandboxes import VENDORS, load


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="expense_sync_sandboxes")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve vendor sandboxes")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument(
        "--port",
        action="append",
        default=[],
        metavar="VENDOR=PORT",
        help=f"vendor and port; vendors: {', '.join(VENDORS)}",
    )
    serve.add_argument(
        "--options", default="{}", help='JSON per vendor, e.g. {"dingtalk": {"seed": 3, "employees": 500, "qps": 50}}'
    )
    serve.add_argument("--empty", action="store_true", help="no demo data (合思 has claims by default)")
    args = parser.parse_args(argv)
    ports = dict(item.split("=", 1) for item in args.port)
    options = json.loads(args.options)
    asyncio.run(serve_all(args.host, {v: int(p) for v, p in ports.items()}, with_defaults(options, args.empty)))


def with_defaults(options: dict[str, dict], empty: bool) -> dict[str, dict]:
    """The per-vendor options, with 合思's demo data unless ``empty`` or the options say otherwise."""
    ekuaibao = {"demo": not empty, **options.get("ekuaibao", {})}
    return {**options, "ekuaibao": ekuaibao}


async def serve_all(host: str, ports: dict[str, int], options: dict[str, dict]) -> None:
    servers = []
    for vendor, port in ports.items():
        sandbox = load(vendor)(**options.get(vendor, {}))
        config = uvicorn.Config(
            sandbox.asgi,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
        )
        servers.append(uvicorn.Server(config))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: [setattr(s, "should_exit", True) for s in servers])
    for server in servers:
        server.install_signal_handlers = lambda: None  # one handler for all of them, above
    await asyncio.gather(*(s.serve() for s in servers))


if __name__ == "__main__":
    main()
