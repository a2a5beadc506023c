"""Helpers of the writer fault tests (org push, chart push, voucher-number write-back to 合思): the
worlds each writer starts from, the writer in a child process, the ways it is stopped from outside
(SIGKILL once 合思 has received k writes, its PostgreSQL backends terminated) and the judges, which
read what 合思's sandbox holds and compare it with the canonical records."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import psycopg

from chartkit import DIMENSIONS, ErpWorld, canonical_items, chart_state, seed_org_units
from claimkit import CLAIMS, audit_in_erp, file_claim, prepare_world, run_ok
from testkit import FAST, ROOT_MARK, canonical_state, write_calls

ERP = "kingdee"
OA = "dingtalk"
APP = "writerkit"  # application_name of the child's PostgreSQL connections
SLOW = 8  # calls a second the child's 合思 client may make when it is to be stopped mid-way

# -- the worlds -----------------------------------------------------------------------------------


def org_world(mdm, run_key: str = "w/org") -> dict:
    """The OA directory (12 departments, 60 people) extracted and merged; nothing pushed yet."""
    from expense_sync.hooks.registry import oa_hook
    from expense_sync.org.extract import extract_directory
    from expense_sync.org.merge import merge_directory

    extracted = extract_directory(mdm, oa_hook(OA), run_key)
    merge_directory(mdm, extracted["loads"], run_key)
    return {}


def chart_world(mdm, run_key: str = "w/chart") -> dict:
    """The ERP chart extracted and merged, 合思's side read; nothing pushed yet. Returns the writer's
    arguments (合思's dimension ids)."""
    from expense_sync.chart.expense_side import read_expense_side
    from expense_sync.chart.extract import extract_chart
    from expense_sync.chart.merge import merge_chart
    from expense_sync.hooks.ekuaibao import EkuaibaoHook
    from expense_sync.hooks.registry import erp_hook

    seed_org_units(mdm, ERP)
    extracted = extract_chart(mdm, erp_hook(ERP), run_key)
    merge_chart(mdm, extracted["loads"], run_key)
    return {"dimensions": read_expense_side(mdm, EkuaibaoHook(), run_key)["dimensions"]}


def write_back_world(dagbag, mdm, sandboxes, monkeypatch, claims: int) -> dict:
    """Org and chart synced, ``claims`` paid claims posted as vouchers, audited in the ERP and their
    numbers pulled: each waits for its number to be written back to 合思. Returns their codes."""
    from expense_sync.claims.status import open_vouchers, pull_status
    from expense_sync.hooks.registry import erp_hook

    prepare_world(dagbag, mdm, sandboxes, monkeypatch, ERP)
    codes = [
        file_claim(sandboxes, mdm, amounts=(f"{300 + i}.20",), state="paid")["form"]["code"] for i in range(claims)
    ]
    run_ok(dagbag, CLAIMS)
    for code in codes:
        remote = mdm.execute("SELECT remote_id FROM fin.voucher WHERE external_ref = %s", (code,)).fetchone()[0]
        audit_in_erp(sandboxes, ERP, code, remote)
    pull_status(mdm, erp_hook(ERP), open_vouchers(mdm))
    waiting = mdm.execute(
        "SELECT count(*) FROM fin.claim WHERE state = 'voucher_audited' AND claim_no = ANY(%s)", (codes,)
    ).fetchone()[0]
    assert waiting == len(codes), "the world's claims are not all audited"
    return {"codes": codes}


# -- the writers --------------------------------------------------------------------------------

WRITERS = ("org", "chart", "write_back")

CHILD = """
import json, sys
from expense_sync.hooks.ekuaibao import EkuaibaoHook
from expense_sync.store.db import connect

writer, run_key, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
with connect() as conn:
    if writer == "org":
        from expense_sync.org.push import push_directory
        print(json.dumps(push_directory(conn, EkuaibaoHook(), run_key)))
    elif writer == "chart":
        from expense_sync.chart.push import push_dimensions
        print(json.dumps(push_dimensions(conn, EkuaibaoHook(), run_key, args["dimensions"])))
    elif writer == "write_back":
        from expense_sync.claims.status import write_back
        print(json.dumps(write_back(conn, EkuaibaoHook(), run_key)))
    elif writer == "org_merge":
        from expense_sync.org.merge import merge_directory
        print(json.dumps(merge_directory(conn, args["loads"], run_key)))
    elif writer == "chart_merge":
        from expense_sync.chart.merge import merge_chart
        print(json.dumps(merge_chart(conn, args["loads"], run_key)))
    else:
        raise SystemExit(f"unknown writer {writer}")
"""


def run_writer(writer: str, args: dict, run_key: str) -> dict:
    """The writer once, in this process (a retry of the task)."""
    from expense_sync.hooks.ekuaibao import EkuaibaoHook
    from expense_sync.store.db import connect

    with connect() as conn:
        if writer == "org":
            from expense_sync.org.push import push_directory

            return push_directory(conn, EkuaibaoHook(), run_key)
        if writer == "chart":
            from expense_sync.chart.push import push_dimensions

            return push_dimensions(conn, EkuaibaoHook(), run_key, args["dimensions"])
        from expense_sync.claims.status import write_back

        return write_back(conn, EkuaibaoHook(), run_key)


def retry_until_ok(writer: str, args: dict, tries: int, label: str = "retry") -> int:
    """Run the writer until a run succeeds (at most ``tries`` runs, as Airflow's retries); returns
    how many runs it took."""
    errors = []
    for n in range(1, tries + 1):
        try:
            run_writer(writer, args, f"{label}/{n}")
            return n
        except Exception as err:  # a failed run is Airflow's to retry
            errors.append(repr(err)[:300])
    raise AssertionError(f"{writer}: no run succeeded in {tries}: {errors}")


def start_child(writer: str, args: dict, run_key: str, sandboxes, mdm_url: str, *, qps: float | None = None):
    """The writer in a child process, its PostgreSQL connections named ``APP`` (to be found in
    pg_stat_activity); ``qps`` slows its 合思 client so that it can be stopped mid-way."""
    env = dict(os.environ)
    env["AIRFLOW_CONN_MDM_POSTGRES"] = mdm_url + ("&" if "?" in mdm_url else "?") + f"application_name={APP}"
    if qps:
        env["AIRFLOW_CONN_EXPENSE_EKUAIBAO"] = sandboxes.connection(
            "expense_ekuaibao", **{**FAST, "rate_limit_qps": qps}
        )
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, writer, run_key, json.dumps(args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(child: subprocess.Popen, timeout: float = 300) -> tuple[int, str]:
    """Wait for the child; its exit code and the tail of its stderr."""
    _, err = child.communicate(timeout=timeout)
    return child.returncode, err[-3000:]


def stop_when(child: subprocess.Popen, reached: Callable[[], bool], act: Callable[[], Any], timeout: float = 120):
    """Poll ``reached`` while the child runs; when it holds, ``act`` (kill, terminate its backend).
    Returns what ``act`` returned, or ``None`` when the child ended first."""
    deadline = time.monotonic() + timeout
    while child.poll() is None:
        if reached():
            return act()
        assert time.monotonic() < deadline, "the child neither finished nor reached the point"
        time.sleep(0.005)
    return None


def sigkill(child: subprocess.Popen) -> Callable[[], bool]:
    def act() -> bool:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        return True

    return act


def writes_reached(sandboxes, k: int) -> Callable[[], bool]:
    """True once 合思 has received ``k`` more writes than now."""
    base = write_calls(sandboxes)
    return lambda: write_calls(sandboxes) >= base + k


def kill_at_write(writer: str, args: dict, run_key: str, sandboxes, mdm_url: str, k: int) -> bool:
    """Start the writer, SIGKILL it once 合思 has received its k-th write; whether it was killed
    (it may have finished first)."""
    reached = writes_reached(sandboxes, k)
    child = start_child(writer, args, run_key, sandboxes, mdm_url, qps=SLOW)
    killed = stop_when(child, reached, sigkill(child))
    code, err = finish(child)
    assert killed or code == 0, err
    return bool(killed)


def backends(conn) -> list[tuple]:
    """(pid, state, wait_event_type, query) of the child's PostgreSQL backends (in this test's
    database only: another session's child on the same server is not ours to watch or stop)."""
    return conn.execute(
        "SELECT pid, state, wait_event_type, query FROM pg_stat_activity"
        " WHERE application_name = %s AND datname = current_database()",
        (APP,),
    ).fetchall()


def terminate(conn) -> int:
    """pg_terminate_backend every backend of the child; how many were terminated."""
    rows = conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = %s AND datname = current_database()",
        (APP,),
    ).fetchall()
    return sum(1 for (ok,) in rows if ok)


def terminate_at_write(writer: str, args: dict, run_key: str, sandboxes, mdm, mdm_url: str, k: int) -> int:
    """Start the writer, terminate its PostgreSQL backends once 合思 has received its k-th write;
    returns how many backends were terminated (0: it finished first)."""
    reached = writes_reached(sandboxes, k)
    child = start_child(writer, args, run_key, sandboxes, mdm_url, qps=SLOW)
    ended = stop_when(child, reached, lambda: terminate(mdm))
    code, err = finish(child)
    assert code != 0 if ended else code == 0, err
    return ended or 0


def terminate_mid_merge(merge: str, args: dict, sandboxes, mdm, mdm_url: str, table: str) -> str:
    """Start a merge in a child while a second connection holds ``table`` in SHARE mode (the merge
    writes it late in its one transaction); once the merge waits on it, terminate its backend.
    Returns the statement it was stopped in."""
    blocker = psycopg.connect(mdm_url)
    try:
        blocker.execute(f"LOCK TABLE {table} IN SHARE MODE")
        child = start_child(merge, args, f"merge/{merge}", sandboxes, mdm_url)

        def waiting() -> bool:
            return any(wait == "Lock" for _, _, wait, _ in backends(mdm))

        def act() -> str:
            query = next(q for _, _, wait, q in backends(mdm) if wait == "Lock")
            assert terminate(mdm) >= 1
            return query

        stopped = stop_when(child, waiting, act, timeout=60)
    finally:
        blocker.rollback()
        blocker.close()
    code, err = finish(child)
    assert stopped and code != 0, (code, err)
    return stopped


# -- the judges -----------------------------------------------------------------------------------


# 合思 refuses a second record with a code it holds: such a refusal is a duplicate the vendor stopped
DUPLICATE_CODE = ("已存在", "导入重复", "已经被占用")


def _refusals(mdm, entities: tuple[str, ...]) -> dict[tuple[str, str], str]:
    """(entity, key) -> detail of every open exception item of 合思 for these entities."""
    rows = mdm.execute(
        "SELECT entity, record_key, coalesce(reason, '') FROM sync.exception_item "
        "WHERE source_system = 'ekuaibao' AND status <> 'resolved' AND entity = ANY(%s)",
        (list(entities),),
    ).fetchall()
    return {(e, k): detail for e, k, detail in rows}


def _verdict(tried: int, wrong: set, doubled: set, refusals: dict[tuple[str, str], str]) -> dict:
    """The row: ``lost`` = records 合思 does not hold as the canonical record says (a refusal does
    not excuse it: nothing in these worlds is refusable); ``duplicated`` = codes 合思 holds twice,
    and second creates it refused for a code it held already."""
    doubled = doubled | {key for key, detail in refusals.items() if any(m in detail for m in DUPLICATE_CODE)}
    return {
        "tried": tried,
        "accepted": tried - len(wrong | set(refusals)),
        "refused": len(refusals),
        "lost": len(wrong),
        "duplicated": len(doubled),
        "detail": {"wrong": sorted(wrong)[:10], "doubled": sorted(doubled)[:10], "refusals": refusals},
    }


def judge_org(mdm, sandboxes) -> dict:
    """Each canonical department and person against what 合思 holds: held once (else duplicated),
    and an active record held enabled with the canonical values, an inactive one not enabled (else lost)."""
    canonical = canonical_state(mdm)
    dump = sandboxes.control("ekuaibao").state()
    corp = dump["corporationId"]
    code_of = {d["id"]: (ROOT_MARK if d["id"] == corp else d["code"]) for d in dump["departments"]}
    departments = [d for d in dump["departments"] if d["id"] != corp]
    doubled = {("org_unit", c) for c, n in Counter(d["code"] for d in departments).items() if n > 1}
    doubled |= {("employee", c) for c, n in Counter(s["code"] for s in dump["staffs"]).items() if n > 1}
    held_units = {d["code"]: d for d in departments}
    held_staff = {s["code"]: s for s in dump["staffs"]}
    wrong = set()
    for code, unit in canonical["org_units"].items():
        held = held_units.get(code)
        if unit["active"]:
            if not held or (held["name"], code_of[held["parentId"]], held["active"]) != (
                unit["name"],
                unit["parent"],
                True,
            ):
                wrong.add(("org_unit", code))
        elif held and held["active"]:
            wrong.add(("org_unit", code))
    for no, person in canonical["employees"].items():
        held = held_staff.get(no)
        if person["active"]:
            want = (person["name"], person["mobile"], person["email"], person["unit"], True)
            if (
                not held
                or (
                    held["name"],
                    held["cellphone"],
                    held["email"],
                    code_of[held["defaultDepartment"]],
                    held["active"],
                )
                != want
            ):
                wrong.add(("employee", no))
        elif held and held["active"]:
            wrong.add(("employee", no))
    tried = len(canonical["org_units"]) + len(canonical["employees"])
    return _verdict(tried, wrong, doubled, _refusals(mdm, ("org_unit", "employee")))


def judge_chart(mdm, sandboxes) -> dict:
    """Each canonical cost center and project against 合思's dimension items of its category."""
    dump = sandboxes.control("ekuaibao").state()
    wrong, doubled, tried = set(), set(), 0
    for entity, name in DIMENSIONS.items():
        category = next(c["id"] for c in dump["dimensions"] if c["name"] == name)
        items = [i for i in dump["dimensionItems"] if i["dimensionId"] == category]
        code_of = {i["id"]: i["code"] for i in items}
        doubled |= {(entity, c) for c, n in Counter(i["code"] for i in items).items() if n > 1}
        held = {i["code"]: i for i in items}
        canonical = canonical_items(mdm, entity)
        tried += len(canonical)
        for code, record in canonical.items():
            item = held.get(code)
            if record["active"]:
                if not item or (item["name"], code_of.get(item["parentId"], ""), item["active"]) != (
                    record["name"],
                    record["parent"],
                    True,
                ):
                    wrong.add((entity, code))
            elif item and item["active"]:
                wrong.add((entity, code))
    return _verdict(tried, wrong, doubled, _refusals(mdm, tuple(DIMENSIONS)))


def judge_write_back(mdm, sandboxes, codes: list[str]) -> dict:
    """Each claim: 合思's document holds our voucher number and the claim is closed (else lost); no
    other number was ever written to it (else duplicated). ``resent`` counts identical write-backs
    beyond the first (the write-back overwrites: an attempt of unknown outcome is sent again)."""
    dump = sandboxes.control("ekuaibao").state()
    flows = {f["form"]["code"]: f for f in dump["flows"]}
    ours = dict(
        mdm.execute(
            "SELECT c.claim_no, v.number FROM fin.claim c JOIN fin.voucher v USING (claim_id) "
            "WHERE v.kind = 'claim' AND c.claim_no = ANY(%s)",
            (codes,),
        ).fetchall()
    )
    closed = {
        r[0]
        for r in mdm.execute("SELECT claim_no FROM fin.claim WHERE state = 'closed' AND claim_no = ANY(%s)", (codes,))
    }
    wrong, doubled, resent = set(), set(), 0
    for code in codes:
        flow = flows[code]
        numbers = [w["voucherNo"] for w in dump["writeBacks"] if w["flowId"] == flow["id"]]
        resent += max(0, len(numbers) - 1)
        if not ours.get(code) or flow["form"]["voucherNo"] != ours[code] or code not in closed:
            wrong.add(("claim", code))
        if len(set(numbers)) > 1:
            doubled.add(("claim", code))
    refusals = {key: detail for key, detail in _refusals(mdm, ("claim",)).items() if key[1] in codes}
    row = _verdict(len(codes), wrong, doubled, refusals)
    row["resent"] = resent
    return row


def judge(writer: str, mdm, sandboxes, args: dict) -> dict:
    if writer == "org":
        return judge_org(mdm, sandboxes)
    if writer == "chart":
        return judge_chart(mdm, sandboxes)
    return judge_write_back(mdm, sandboxes, args["codes"])


def record(figures, scenario: str, verdict: dict) -> dict:
    """One row of the reliability table from a judge's verdict; fails unless nothing was lost or duplicated."""
    if verdict.get("resent"):
        scenario += f" [{verdict['resent']} identical write-backs sent again]"
    row = figures(scenario, **{k: verdict[k] for k in ("tried", "accepted", "refused", "lost", "duplicated")})
    assert row["verdict"] == "ok", (row, verdict["detail"])
    return row


# -- the merges ---------------------------------------------------------------------------------


def churn(kind: str, sandboxes, mdm) -> None:
    """A day of changes at the source: hires, leavers, a transfer, renames (OA); renamed cost
    centers and a closed project (ERP)."""
    if kind == "org":
        oa = sandboxes.control(OA)
        new_unit = oa.mutate("new_department", parent_id=2, name="审计二部")
        for dept in (new_unit, 3, 5):
            oa.mutate("hire", dept_id=dept)
        oa.mutate("leave", userid="u0000005")
        oa.mutate("leave", userid="u0000006")
        oa.mutate("transfer", userid="u0000007", dept_id=new_unit)
        oa.mutate("rename_person", userid="u0000008", name="改名后")
        oa.mutate("rename_department", dept_id=4, name="新名字部")
    else:
        erp = ErpWorld(ERP, sandboxes)
        centers = [r[0] for r in mdm.execute("SELECT code FROM mdm.cost_center WHERE active ORDER BY code")]
        projects = [r[0] for r in mdm.execute("SELECT code FROM mdm.project WHERE active ORDER BY code")]
        for code in centers[:3]:
            erp.rename_cost_center(code, f"改名{code}")
        erp.close_project(projects[0])


def extract(kind: str, conn, run_key: str) -> dict:
    from expense_sync.chart.extract import extract_chart
    from expense_sync.hooks.registry import erp_hook, oa_hook
    from expense_sync.org.extract import extract_directory

    if kind == "org":
        return {"loads": extract_directory(conn, oa_hook(OA), run_key)["loads"]}
    return {"loads": extract_chart(conn, erp_hook(ERP), run_key)["loads"]}


def merge(kind: str, conn, loads: dict, run_key: str) -> None:
    from expense_sync.chart.merge import merge_chart
    from expense_sync.org.merge import merge_directory

    if kind == "org":
        merge_directory(conn, loads, run_key)
    else:
        merge_chart(conn, loads, run_key)


def canonical(kind: str, conn) -> dict:
    """The canonical tables by business key (no surrogate ids or times)."""
    if kind == "org":
        state = canonical_state(conn)
        return {(entity, key): value for entity, records in state.items() for key, value in records.items()}
    return {(table, row[0]): row for table, rows in chart_state(conn).items() for row in rows}


def merge_day_terminated(kind: str, pg_server, mdm_template, mdm, sandboxes) -> tuple[dict, set, str]:
    """A first sync (merge and push), a day of changes at the source, and the merge of that day's
    extraction in a child whose backend is terminated mid-transaction; the merge run again. A clean
    database merges the same two extractions undisturbed. Returns the writer's arguments, the
    canonical records that differ from the clean run's, and the statement the merge was stopped in."""
    url = os.environ["AIRFLOW_CONN_MDM_POSTGRES"]
    clean_db = pg_server.create_database("expense_sync_clean", template=mdm_template)
    try:
        with psycopg.connect(pg_server.url(clean_db), autocommit=True) as clean:
            args = org_world(mdm) if kind == "org" else chart_world(mdm)
            if kind == "chart":
                seed_org_units(clean, ERP)
            merge(kind, clean, extract(kind, clean, "clean/1")["loads"], "clean/1")
            run_writer(kind, args, "first")
            churn(kind, sandboxes, mdm)
            day = extract(kind, mdm, "day/2")
            merge(kind, clean, extract(kind, clean, "clean/2")["loads"], "clean/2")
            table = "mdm.employee" if kind == "org" else "mdm.cost_center"  # written after org units / accounts
            stopped_in = terminate_mid_merge(f"{kind}_merge", day, sandboxes, mdm, url, table)
            merge(kind, mdm, day["loads"], "day/2-retry")
            got, want = canonical(kind, mdm), canonical(kind, clean)
    finally:
        pg_server.drop_database(clean_db)
    assert want, "the clean run merged nothing"
    return args, {key for key in want.keys() | got.keys() if got.get(key) != want.get(key)}, stopped_in


# -- vendor fault storms ---------------------------------------------------------------------------

# 合思's write paths per writer (the storm's lost answers fall on writes: a lost read is only a retry)
WRITE_PATHS = {
    "org": ["/api/openapi/v1/departments*", "/api/openapi/v1.1/staffs/*"],
    "chart": ["/api/openapi/v1.1/dimensions/items*"],
    "write_back": ["/api/openapi/v2.1/flow/data/erpVoucher"],
}


def storm(writer: str) -> list[dict[str, Any]]:
    """5xx, 429 throttling, HTML throttle pages, token expiry mid-run and answers lost after the
    commit (slow_commit), each a bounded number of times so that the storm passes. It opens with an
    outage of 合思's writes (every write refused with a 5xx, more times than one run's client retries):
    the first run fails mid-way and the next one picks up from the ledger."""
    writes = WRITE_PATHS[writer]
    return [
        {"kind": "5xx", "every": 1, "limit": 6, "paths": writes, "methods": ["POST", "PUT"]},
        {"kind": "slow_commit", "every": 2, "limit": 2, "delay": 2.5, "paths": writes, "methods": ["POST", "PUT"]},
        {"kind": "5xx", "every": 3, "limit": 4},
        {"kind": "throttle", "every": 4, "limit": 3},
        {"kind": "html_throttle", "every": 5, "limit": 2},
        {"kind": "token_expired", "every": 6, "limit": 2},
    ]


def args_json(args: dict) -> dict:
    return {k: v for k, v in args.items() if k != "codes"}
