"""dlt's ``rest_api`` source loading the DingTalk directory into PostgreSQL (``replace`` or ``merge``).

The declarative config a data engineer would write: a token, the department tree in one call
(``department/list?fetch_child=true``), and ``topapi/v2/user/list`` per department as a child
resource with DingTalk's body cursor. Runs in the benchmark-only virtualenv (``make bench-peers``,
``bench/peers/requirements.txt``); prints one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("RUNTIME__DLT_TELEMETRY", "false")

import dlt  # noqa: E402
import requests  # noqa: E402
from dlt.sources.rest_api import rest_api_source  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--appkey", required=True)
    parser.add_argument("--appsecret", required=True)
    parser.add_argument("--disposition", choices=["replace", "merge"], required=True)
    parser.add_argument("--pipelines-dir", required=True)
    args = parser.parse_args()
    started, cpu = time.monotonic(), time.process_time()
    token = requests.get(
        f"{args.base_url}/gettoken", params={"appkey": args.appkey, "appsecret": args.appsecret}
    ).json()["access_token"]
    source = rest_api_source(
        {
            "client": {
                "base_url": args.base_url,
                "auth": {"type": "api_key", "name": "access_token", "api_key": token, "location": "query"},
            },
            "resource_defaults": {"write_disposition": args.disposition},
            "resources": [
                {
                    "name": "departments",
                    "primary_key": "id",
                    "endpoint": {
                        "path": "department/list",
                        "params": {"id": 1, "fetch_child": "true"},
                        "data_selector": "department",
                        "paginator": "single_page",
                    },
                },
                {
                    "name": "employees",
                    "primary_key": "userid",
                    "endpoint": {
                        "path": "topapi/v2/user/list",
                        "method": "POST",
                        "json": {"dept_id": "{resources.departments.id}", "size": 100, "order_field": "entry_asc"},
                        "data_selector": "result.list",
                        "paginator": {
                            "type": "cursor",
                            "cursor_path": "result.next_cursor",
                            "cursor_body_path": "cursor",
                        },
                    },
                },
            ],
        }
    )
    # dlt insists on a password; the server trusts local connections and ignores it
    dsn = args.dsn if ":" in args.dsn.split("@")[0].split("//")[1] else args.dsn.replace("@", ":trust@", 1)
    pipeline = dlt.pipeline(
        pipeline_name=f"dingtalk_{args.disposition}",
        destination=dlt.destinations.postgres(credentials=dsn),
        dataset_name="dingtalk",
        pipelines_dir=args.pipelines_dir,
    )
    pipeline.run(source)
    counts = pipeline.last_trace.last_normalize_info.row_counts
    # the two resources' tables; dlt also writes each user's dept_id_list as a nested table
    written = sum(n for table, n in counts.items() if not table.startswith("_dlt") and "__" not in table)
    nested = sum(n for table, n in counts.items() if not table.startswith("_dlt") and "__" in table)
    figures = {"rows_written": written, "nested_rows_written": nested}
    figures |= {"work_s": time.monotonic() - started, "work_cpu_s": time.process_time() - cpu}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
