"""``python -m expense_sync_sandboxes serve --port dingtalk=18101 --port ekuaibao=18103 …``

Serves each named vendor's sandbox on its own port from one process, until SIGINT/SIGTERM.
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
    args = parser.parse_args(argv)
    ports = dict(item.split("=", 1) for item in args.port)
    asyncio.run(serve_all(args.host, {v: int(p) for v, p in ports.items()}, json.loads(args.options)))


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
