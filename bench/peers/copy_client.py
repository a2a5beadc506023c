"""The floor: a plain requests + psycopg COPY script loading the DingTalk directory into PostgreSQL.

What a data engineer writes in an afternoon: one token, the whole department tree in one call
(``department/list?fetch_child=true``), then ``topapi/v2/user/list`` per department; the rows are
COPYed into temporary tables and upserted, writing only the rows that differ. Run by
``bench/peers/run.py`` in its own process; prints one JSON line of figures.

    python bench/peers/copy_client.py --base-url http://127.0.0.1:PORT --dsn postgresql://…
"""

from __future__ import annotations

import argparse
import json
import time

import psycopg
import requests

DDL = """
CREATE TABLE IF NOT EXISTS departments (id bigint PRIMARY KEY, name text, parent_id bigint);
CREATE TABLE IF NOT EXISTS employees (
    userid text PRIMARY KEY, name text, job_number text, email text, mobile text, title text,
    dept_id bigint, hired_date bigint
);
CREATE TEMP TABLE departments_in (LIKE departments) ON COMMIT DROP;
CREATE TEMP TABLE employees_in (LIKE employees) ON COMMIT DROP;
"""
UPSERT = {
    "departments": """
        INSERT INTO departments SELECT * FROM departments_in
        ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, parent_id = EXCLUDED.parent_id
        WHERE (departments.name, departments.parent_id) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.parent_id)""",
    "employees": """
        INSERT INTO employees SELECT DISTINCT ON (userid) * FROM employees_in
        ON CONFLICT (userid) DO UPDATE SET name = EXCLUDED.name, job_number = EXCLUDED.job_number,
            email = EXCLUDED.email, mobile = EXCLUDED.mobile, title = EXCLUDED.title,
            dept_id = EXCLUDED.dept_id, hired_date = EXCLUDED.hired_date
        WHERE (employees.name, employees.job_number, employees.email, employees.mobile, employees.title,
               employees.dept_id, employees.hired_date)
            IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.job_number, EXCLUDED.email, EXCLUDED.mobile,
               EXCLUDED.title, EXCLUDED.dept_id, EXCLUDED.hired_date)""",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--appkey", required=True)
    parser.add_argument("--appsecret", required=True)
    args = parser.parse_args()
    started, cpu = time.monotonic(), time.process_time()
    http = requests.Session()
    base = args.base_url
    token = http.get(f"{base}/gettoken", params={"appkey": args.appkey, "appsecret": args.appsecret}).json()
    auth = {"access_token": token["access_token"]}
    tree = http.get(f"{base}/department/list", params={**auth, "id": 1, "fetch_child": "true"}).json()
    assert tree["errcode"] == 0, tree
    departments = tree["department"]
    written = 0
    with psycopg.connect(args.dsn) as conn, conn.cursor() as cur:
        cur.execute(DDL)
        with cur.copy("COPY departments_in FROM STDIN") as copy:
            for d in departments:
                copy.write_row((d["id"], d["name"], d.get("parentid")))
        with cur.copy("COPY employees_in FROM STDIN") as copy:
            for d in departments:
                cursor: int | None = 0
                while cursor is not None:
                    body = {"dept_id": d["id"], "cursor": cursor, "size": 100, "order_field": "entry_asc"}
                    page = http.post(f"{base}/topapi/v2/user/list", params=auth, json=body).json()
                    assert page["errcode"] == 0, page
                    result = page["result"]
                    for u in result["list"]:
                        copy.write_row(
                            (
                                u["userid"],
                                u["name"],
                                u.get("job_number"),
                                u.get("email"),
                                u.get("mobile"),
                                u.get("title"),
                                (u.get("dept_id_list") or [None])[0],
                                u.get("hired_date"),
                            )
                        )
                    cursor = result.get("next_cursor") if result.get("has_more") else None
        for table in ("departments", "employees"):
            cur.execute(UPSERT[table])
            written += cur.rowcount
    figures = {"rows_written": written, "work_s": time.monotonic() - started, "work_cpu_s": time.process_time() - cpu}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
