"""Bad input from outside under an operator's worst day: forged, replayed and malformed webhooks on
every route; poison 合思 documents in an inbox batch; a damaged OA tree; a vendor's schema drift; and
the chart edited on both sides with 合思's clock skewed. Judged by what the middle platform's tables
and the sandboxes hold: no good record lost, none stored twice, every bad one refused or queued."""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from test_intake import MALFORMED, seed
from test_intake import ekb as intake_world
from test_intake import run as intake
from test_webhook_dingtalk import FORGED as DINGTALK_BAD
from test_webhook_dingtalk import _sealed_text
from test_webhook_ekuaibao import FORGED as EKUAIBAO_BAD
from test_webhook_standard import FORGED as STANDARD_BAD
from test_webhook_wecom import FORGED as WECOM_BAD
from test_webhook_wecom import URL_CHECKS_FORGED as WECOM_URL_BAD
from webhook_senders import (
    EKUAIBAO_PATH,
    EKUAIBAO_SIGN_KEY,
    Delivery,
    dingtalk,
    dingtalk_event,
    ekuaibao,
    ekuaibao_message,
    standard,
    standard_payload,
    wecom,
    wecom_event,
)

from chartkit import ERPS, ErpWorld, canonical_items, expense_items, seed_org_units
from claimkit import CLAIMS, erp_vouchers, file_claim, prepare_world, run_ok
from expense_sync.chart.expense_side import read_expense_side
from expense_sync.chart.extract import extract_chart
from expense_sync.chart.merge import merge_chart
from expense_sync.chart.push import push_dimensions
from expense_sync.claims.parse import CHINA
from expense_sync.hooks.ekuaibao import EkuaibaoHook
from expense_sync.hooks.registry import erp_hook, oa_hook
from expense_sync.org.extract import extract_directory
from expense_sync.org.merge import merge_directory
from expense_sync.org.push import push_directory
from expense_sync.store.loads import SchemaDrift
from inboundkit import open_items, webhook_fixtures
from testkit import canonical_state, expense_state

pytestmark = pytest.mark.reliability

webhook_env = webhook_fixtures().webhook_env
start_receiver = webhook_fixtures().start_receiver
ekb = intake_world  # 合思 with the staff and the cost center the seeded claims name


# -- 1. forged, replayed and malformed webhooks ---------------------------------------------------
def _valid(route: str, marker: str) -> Delivery:
    """A valid delivery whose event carries ``marker`` (a distinct event per marker)."""
    if route == "ekuaibao":
        return ekuaibao(ekuaibao_message(flow_id=marker))
    if route == "dingtalk":
        return dingtalk(dingtalk_event(instance=marker))
    if route == "wecom":
        return wecom(wecom_event(user_id=marker))
    return standard(standard_payload(claim=marker))


def _unstorable(route: str, marker: str) -> Delivery | None:
    """A correctly signed delivery whose payload holds a lone surrogate (JSON ``"\\ud800"``): refused
    and kept for a person. WeCom's XML cannot carry one (it is malformed XML, among the bad cases)."""
    if route == "ekuaibao":
        message = ekuaibao_message(flow_id=marker, title="报销 \ud800", signKey=EKUAIBAO_SIGN_KEY)
        return Delivery(
            "POST",
            EKUAIBAO_PATH,
            json.dumps(message).encode(),
            {"Content-Type": "application/json"},
        )
    if route == "dingtalk":
        return _sealed_text(json.dumps(dingtalk_event(instance=marker, title="\ud800")))
    if route == "standard":
        return standard(json.dumps({**standard_payload(claim=marker), "note": "\ud800"}).encode())
    return None


BAD = {
    "ekuaibao": EKUAIBAO_BAD,
    "dingtalk": DINGTALK_BAD,
    "wecom": {**WECOM_BAD, **{f"url check: {k}": v for k, v in WECOM_URL_BAD.items()}},
    "standard": STANDARD_BAD,
}
EVENTS, REPLAYS, BAD_ROUNDS = 12, 6, 2  # per route: 12 events each delivered 6 times; every bad case twice
RETRIES = 5  # a sender retries a 5xx answer


def _holding(rows: list[str], marker: str) -> int:
    return sum(f'"{marker}"' in text for text in rows)


@pytest.mark.parametrize("route", list(BAD))
def test_forged_replayed_and_malformed_webhooks_in_one_burst(figures, start_receiver, webhook_env, route):
    receiver = start_receiver()
    rng = random.Random(f"inbound-{route}")
    markers = [f"REL-{route}-{n:03d}" for n in range(EVENTS)]
    valid = {marker: _valid(route, marker) for marker in markers}
    unstorable = {m: d for m in (f"SURR-{route}-{n}" for n in range(3)) if (d := _unstorable(route, m))}
    burst = [("valid", m, d) for m, d in valid.items() for _ in range(REPLAYS)]
    burst += [("unstorable", m, d) for m, d in unstorable.items()]
    # a bad delivery is built as it is sent: a stale or future timestamp stays exactly that far off
    burst += [("bad", case, build) for case, (build, _) in BAD[route].items() for _ in range(BAD_ROUNDS)]
    rng.shuffle(burst)

    def send(entry):
        """One delivery, and the sender's retries while it hears 5xx (the receiver's "database too slow")."""
        kind, key, delivery = entry
        delivery = delivery() if callable(delivery) else delivery
        response = delivery.send(receiver.url)
        for _ in range(RETRIES):
            if response.status_code < 500:
                break
            time.sleep(0.5)
            response = delivery.send(receiver.url)
        return kind, key, response

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(send, burst))

    assert not [(k, r.status_code, r.text) for kind, k, r in answers if kind != "valid" and r.status_code < 300]
    stored = [r[0] for r in webhook_env.execute("SELECT payload::text FROM sync.event_inbox").fetchall()]
    kept = [json.dumps(i["record"], ensure_ascii=False) for i in open_items(webhook_env, entity="webhook_event")]
    held = {marker: _holding(stored, marker) for marker in markers}
    strangers = [text for text in stored if not any(f'"{m}"' in text for m in markers)]
    assert strangers == [], "a forged or malformed delivery reached the inbox"
    lost_unstorable = [m for m in unstorable if _holding(stored, m) == 0 and not any(m in text for text in kept)]
    row = figures(
        f"webhooks {route}: {len(burst)} deliveries ({EVENTS} events x{REPLAYS}, {len(unstorable)} lone "
        f"surrogates, {len(BAD[route])} forged/malformed x{BAD_ROUNDS})",
        tried=len(burst),
        accepted=sum(n == 1 for n in held.values()),
        refused=sum(400 <= r.status_code < 500 for kind, _, r in answers if kind != "valid"),
        lost=sum(n == 0 for n in held.values()) + len(lost_unstorable),
        duplicated=sum(n > 1 for n in held.values()),
    )
    assert row["verdict"] == "ok", (row, held, lost_unstorable)
    assert row["refused"] == len(burst) - len(valid) * REPLAYS, "every forged, malformed or unstorable one refused"


# -- 2. poison 合思 documents in an inbox batch ----------------------------------------------------
POISON = {
    **{shape: corruption for shape, (corruption, _) in MALFORMED.items()},
    "updateTime_garbage": {"path": "updateTime", "value": "2026-13-45 garbage"},
    "updateTime_1e22": {"path": "updateTime", "value": 1e22},
}
FIELD = {shape: field for shape, (_, field) in MALFORMED.items()} | {
    "updateTime_garbage": "updateTime",
    "updateTime_1e22": "updateTime",
}
GOOD, POISON_ROUNDS, INTAKES = 24, 2, 4


def test_poison_documents_mixed_into_an_inbox_batch(figures, mdm, ekb):
    rng = random.Random(7)
    plan = ["good"] * GOOD + [shape for shape in POISON for _ in range(POISON_ROUNDS)]
    rng.shuffle(plan)
    filed = [(shape, seed(ekb, mdm, f"{100 + n}.25")) for n, shape in enumerate(plan)]  # one inbox batch
    for shape, code in filed:
        if shape != "good":
            ekb.mutate("corrupt_claim", code=code, **POISON[shape])

    for n in range(INTAKES):  # the scheduled runs of the day: the inbox, then the catch-up poll
        intake(mdm, poll=n % 2 == 1)

    good = [code for shape, code in filed if shape == "good"]
    bad = {code: shape for shape, code in filed if shape != "good"}
    claims = {}
    for claim_no, version, rows in mdm.execute(
        "SELECT claim_no, max(version), count(*) FROM fin.claim GROUP BY claim_no"
    ).fetchall():
        claims[claim_no] = (version, rows)
    queued = {}
    for item in open_items(mdm, entity="claim", reason_code="document_malformed"):
        queued.setdefault(item["record_key"], []).append(item)
    items_ever = dict(
        mdm.execute("SELECT record_key, count(*) FROM sync.exception_item WHERE entity = 'claim' GROUP BY 1").fetchall()
    )
    refused = [c for c, shape in bad.items() if any(FIELD[shape] in i["reason"] for i in queued.get(c, []))]
    assert [c for c in bad if c in claims] == [], "a poison document was taken as a claim"
    events = dict(
        mdm.execute("SELECT payload ->> 'code', status FROM sync.event_inbox WHERE source = 'ekuaibao'").fetchall()
    )
    assert {events[c] for c in good} == {"processed"} and {events[c] for c in bad} == {"failed"}, events
    row = figures(
        f"poison 合思 documents: {len(bad)} of {len(filed)} in one inbox batch ({len(POISON)} shapes), {INTAKES} runs",
        tried=len(filed),
        accepted=sum(c in claims for c in good),
        refused=len(refused),
        lost=sum(c not in claims for c in good) + len(set(bad) - set(refused)),
        duplicated=sum(v > 1 or n > 1 for v, n in claims.values()) + sum(n > 1 for n in items_ever.values()),
    )
    assert row["verdict"] == "ok", (row, bad, refused)


# -- 3. a damaged OA tree -------------------------------------------------------------------------
def _org_run(conn, vendor: str, run: str) -> None:
    """One org sync without Airflow: extract, merge, push to 合思 (org_sync_daily's tasks)."""
    extracted = extract_directory(conn, oa_hook(vendor), f"reliability/{run}")
    merge_directory(conn, extracted["loads"], f"reliability/{run}")
    push_directory(conn, EkuaibaoHook(), f"reliability/{run}")


@pytest.mark.parametrize("vendor", ["dingtalk", "wecom"])
def test_a_damaged_oa_tree_and_a_mass_deactivation(figures, mdm, sandboxes, vendor):
    directory = sandboxes.control(vendor)
    _org_run(mdm, vendor, "day1")
    damaged = {"10", "3", "8", "12"}  # 10 under a parent that does not exist; 3 -> 8 -> 3, 12 under 8
    directory.mutate("set_parent", dept_id=10, parent_id=999)
    directory.mutate("set_parent", dept_id=3, parent_id=8)
    people = directory.state()["people"]
    in_damaged = {p["job_number"] for p in people if {str(d) for d in p["dept_ids"]} & damaged}
    leavers = [p for p in people if p["job_number"] not in in_damaged][-5:]  # 5 of 60: above the 5 % guard
    for person in leavers:
        directory.mutate("leave", userid=person["userid"])
    directory.mutate("rename_person", userid=people[0]["userid"], name="改名后")  # the rest still syncs

    _org_run(mdm, vendor, "day2")
    _org_run(mdm, vendor, "day2-rerun")  # Airflow's retry of the whole run

    dump = directory.state()
    staying = {p["job_number"] for p in dump["people"]}
    units = {str(d["id"]) for d in dump["departments"] if d["parent_id"] is not None}
    canonical, expense = canonical_state(mdm), expense_state(sandboxes)
    wrongly_off = {
        no for no in staying if not canonical["employees"][no]["active"] or not expense["staff"][no]["active"]
    } | {
        code
        for code in units
        if not canonical["org_units"][code]["active"] or not expense["departments"][code]["active"]
    }
    leaver_nos = sorted(p["job_number"] for p in leavers)
    quarantined = {i["record_key"] for i in open_items(mdm, kind="quarantine", entity="org_unit")}
    [held] = open_items(mdm, reason_code="mass_deactivation")
    assert sorted(held["record"]["employee"]["keys"]) == leaver_nos
    assert {canonical["employees"][no]["active"] for no in leaver_nos} == {True}, "held, not deactivated"
    assert quarantined == damaged
    assert expense["staff"][people[0]["job_number"]]["name"] == "改名后"
    staff_codes = Counter(s["code"] for s in sandboxes.control("ekuaibao").state()["staffs"])
    department_codes = Counter(d["code"] for d in sandboxes.control("ekuaibao").state()["departments"])
    row = figures(
        f"OA tree damage ({vendor}): orphan + cycle (4 units, {len(in_damaged)} people) and "
        f"{len(leavers)} leavers of {len(people)} (> 5 %), run twice",
        tried=len(people) + len(units),
        accepted=len(staying) + len(units) - len(wrongly_off),
        refused=len(quarantined) + len(leaver_nos),
        lost=len(wrongly_off),
        duplicated=sum(n > 1 for n in staff_codes.values()) + sum(n > 1 for n in department_codes.values()),
    )
    assert row["verdict"] == "ok", (row, wrongly_off)


# -- 5. the chart edited on both sides, 合思's clock skewed ---------------------------------------
def _chart_week(conn, vendor: str, run: str) -> None:
    """One expense_category_sync_weekly without Airflow: ERP extract and merge, 合思 read, push."""
    run_key = f"reliability/{run}"
    extracted = extract_chart(conn, erp_hook(vendor), run_key)
    merge_chart(conn, extracted["loads"], run_key)
    expense = read_expense_side(conn, EkuaibaoHook(), run_key)
    push_dimensions(conn, EkuaibaoHook(), run_key, expense["dimensions"])


HOUR = 3600
# week 2's edits: (who edits, 合思's clock skew); week 3's come after 合思's clock ran an hour ahead
WEEK2 = {
    "both, 合思 ahead": ("both", HOUR),
    "both, 合思 behind": ("both", -HOUR),
    "合思 alone, behind": ("expense", -HOUR),
    "合思 alone, ahead": ("expense", HOUR),
    "ERP alone": ("erp", 0),
}
WEEK3 = {"both, after the skew": ("both", 0), "合思 alone, after the skew": ("expense", 0)}


@pytest.mark.parametrize("vendor", ERPS)
def test_the_chart_edited_on_both_sides_with_a_skewed_clock(figures, mdm, sandboxes, vendor):
    seed_org_units(mdm, vendor)
    erp, ekb = ErpWorld(vendor, sandboxes), sandboxes.control("ekuaibao")
    _chart_week(mdm, vendor, "week1")
    _chart_week(mdm, vendor, "week1-quiet")  # 合思's read has a watermark from here on
    codes = iter(sorted(c for c, v in canonical_items(mdm, "cost_center").items() if v["active"]))
    edits: dict[str, dict] = {}
    for week, plan in (("week2", WEEK2), ("week3", WEEK3)):
        for case, (who, skew) in plan.items():
            code = next(codes)
            edit = {"case": case, "who": who, "erp": None, "expense": None}
            if who in ("both", "erp"):
                edit["erp"] = f"ERP{week}{code}"
                erp.rename_cost_center(code, edit["erp"])
            if who in ("both", "expense"):
                edit["expense"] = f"合思{week}{code}"
                ekb.mutate("edit_item", dimension="成本中心", code=code, name=edit["expense"], skew_seconds=skew)
            edits[code] = edit
        _chart_week(mdm, vendor, week)
        _chart_week(mdm, vendor, f"{week}-rerun")  # a re-run changes nothing

    held = expense_items(sandboxes, "cost_center")
    canonical = canonical_items(mdm, "cost_center")
    queued = dict(
        mdm.execute(
            "SELECT record_key, array_agg(reason_code ORDER BY item_id) FROM sync.exception_item "
            "WHERE entity = 'cost_center' GROUP BY record_key"
        ).fetchall()
    )
    overwritten = [c for c, e in edits.items() if e["expense"] and held[c]["name"] != e["expense"] and c not in queued]
    wrong = {}
    for code, edit in edits.items():
        reasons = queued.get(code, [])
        if edit["who"] == "both":  # a person decides; nothing written meanwhile; the ERP stays master
            ok = reasons == ["changed_both_sides"] and held[code]["name"] == edit["expense"]
            ok = ok and canonical[code]["name"] == edit["erp"]
        elif edit["who"] == "expense":  # the ERP is master: 合思 restored, the overwrite queued
            ok = reasons == ["expense_side_edited"] and held[code]["name"] == canonical[code]["name"]
        else:
            ok = not reasons and held[code]["name"] == edit["erp"] == canonical[code]["name"]
        if not ok:
            wrong[f"{code} ({edit['case']})"] = (reasons, held[code]["name"], canonical[code]["name"])
    counts = Counter(held_code for held_code in (i["code"] for i in _cost_center_items(sandboxes)))
    row = figures(
        f"chart edited on both sides, 合思 clock ±1 h ({vendor}): {len(edits)} records over 2 weeks, re-run",
        tried=len(edits),
        accepted=sum(e["who"] != "both" for c, e in edits.items() if f"{c} ({e['case']})" not in wrong),
        refused=sum(e["who"] == "both" for c, e in edits.items() if f"{c} ({e['case']})" not in wrong),
        lost=len(overwritten),
        duplicated=sum(n > 1 for n in counts.values()),
    )
    assert row["verdict"] == "ok", (row, overwritten, wrong)
    assert wrong == {}, "the master rule was not applied"


def _cost_center_items(sandboxes) -> list[dict]:
    dump = sandboxes.control("ekuaibao").state()
    category = next(c["id"] for c in dump["dimensions"] if c["name"] == "成本中心")
    return [i for i in dump["dimensionItems"] if i["dimensionId"] == category and i["active"]]


# -- 4. schema drift: 合思 adds, renames and retypes fields of its claim documents -----------------
def _rename(old: str, new: str):
    def drift(ekb, flow: dict) -> None:
        node = flow
        for part in old.split(".")[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        value = node[old.split(".")[-1]]
        ekb.mutate("corrupt_claim", code=flow["form"]["code"], path=new, value=value)
        ekb.mutate("corrupt_claim", code=flow["form"]["code"], path=old, remove=True)  # by its code: last

    return drift


def _set(path: str, value):
    return lambda ekb, flow: ekb.mutate("corrupt_claim", code=flow["form"]["code"], path=path, value=value)


LINE = "form.details.0.feeTypeForm"
DRIFT = {
    "added form field": _set("form.u_carbonFootprint", {"kg": "12.5"}),
    "added line field": _set(f"{LINE}.u_invoiceChannel", "全电发票"),
    "renamed expenseMoney": _rename("form.expenseMoney", "form.expenseAmount"),
    "renamed expenseDate": _rename("form.expenseDate", "form.expenseDay"),
    "renamed form code": _rename("form.code", "form.formCode"),
    "renamed submitterId": _rename("form.submitterId", "form.submitter"),
    "renamed line amount": _rename(f"{LINE}.amount", f"{LINE}.money"),
    "renamed line cost center": _rename(f"{LINE}.u_costCenter", f"{LINE}.u_costCentre"),
    "renamed details": _rename("form.details", "form.detailList"),
    "retyped expenseDate (ISO text)": _set("form.expenseDate", "2026-11-20"),
    "retyped total (a number)": lambda ekb, flow: _set("form.expenseMoney.standard", float(_total(flow)))(ekb, flow),
    "retyped line amount (bare text)": lambda ekb, flow: _set(f"{LINE}.amount", _line_amount(flow))(ekb, flow),
    "retyped line cost center (a list)": lambda ekb, flow: _set(f"{LINE}.u_costCenter", [_center_id(flow)])(ekb, flow),
}


def _total(flow: dict) -> str:
    return flow["form"]["expenseMoney"]["standard"]


def _line_amount(flow: dict, line: int = 0) -> str:
    return flow["form"]["details"][line]["feeTypeForm"]["amount"]["standard"]


def _center_id(flow: dict, line: int = 0) -> str:
    return flow["form"]["details"][line]["feeTypeForm"]["u_costCenter"]


@pytest.fixture
def claim_world(dagbag, mdm, sandboxes, monkeypatch):
    prepare_world(dagbag, mdm, sandboxes, monkeypatch, "kingdee")
    return "kingdee"


def test_schema_drift_in_claim_documents(figures, dagbag, mdm, sandboxes, claim_world):
    ekb = sandboxes.control("ekuaibao")
    filed = {}
    for n, case in enumerate([*DRIFT, "untouched", "untouched 2"]):
        flow = file_claim(sandboxes, mdm, amounts=(f"{300 + n}.40", "25.00"))
        filed[case] = {
            "flow": flow,
            "code": flow["form"]["code"],
            "total": Decimal(_total(flow)),
            "date": dt.datetime.fromtimestamp(flow["form"]["expenseDate"] / 1000, CHINA).date(),
            "lines": [(Decimal(_line_amount(flow, n)), _center_code(sandboxes, flow, n)) for n in range(2)],
        }
    for case, drift in DRIFT.items():
        drift(ekb, filed[case]["flow"])

    run_ok(dagbag, CLAIMS)
    run_ok(dagbag, CLAIMS)  # a second run: nothing doubles

    outcome, why = {}, {}
    for case, claim in filed.items():
        code, flow_id = claim["code"], claim["flow"]["id"]
        rows = mdm.execute(
            "SELECT claim_id, claim_no, total_amount, claim_date, state FROM fin.claim WHERE flow_id = %s", (flow_id,)
        ).fetchall()
        queued = mdm.execute(
            "SELECT reason_code FROM sync.exception_item WHERE entity = 'claim' AND status <> 'resolved'"
            " AND record_key IN (%s, %s)",
            (code, flow_id),
        ).fetchall()
        lines = []
        if rows:
            lines = mdm.execute(
                "SELECT amount, cost_center FROM fin.claim_line WHERE claim_id = %s ORDER BY line_no", (rows[0][0],)
            ).fetchall()
        vouchers = len(erp_vouchers(sandboxes, claim_world, code)) + (
            len(erp_vouchers(sandboxes, claim_world, flow_id)) if flow_id != code else 0
        )
        faithful = (
            len(rows) == 1
            and rows[0][1:4] == (code, claim["total"], claim["date"])
            and [tuple(line) for line in lines] == claim["lines"]
            and vouchers == 1
        )
        if queued and not lines and vouchers == 0:
            outcome[case] = "refused"
        elif faithful:
            outcome[case] = "accepted"
        elif vouchers > 1 or len(rows) > 1:
            outcome[case] = "duplicated"
        else:
            outcome[case] = "lost"
        why[case] = (rows, lines, queued, vouchers)
    tally = Counter(outcome.values())
    row = figures(
        f"schema drift in 合思 claim documents ({len(DRIFT)} added/renamed/retyped fields, 2 untouched)",
        tried=len(filed),
        accepted=tally["accepted"],
        refused=tally["refused"],
        lost=tally["lost"],
        duplicated=tally["duplicated"],
    )
    assert row["verdict"] == "ok", (
        row,
        {c: (outcome[c], why[c]) for c in outcome if outcome[c] not in ("accepted", "refused")},
    )
    assert outcome["untouched"] == outcome["untouched 2"] == "accepted"


def _center_code(sandboxes, flow: dict, line: int) -> str:
    dump = sandboxes.control("ekuaibao").state()
    return next(i["code"] for i in dump["dimensionItems"] if i["id"] == _center_id(flow, line))


OA_DRIFT = {
    "mobile renamed": {"rename": {"mobile": "mobile_phone"}},
    "email renamed": {"rename": {"email": "mail"}},
    "title renamed": {"rename": {"title": "position"}},
    "name renamed": {"rename": {"name": "nick"}},
    "hired_date retyped": {"set": {"hired_date": "2020-01-01"}},
    "dept_id_list retyped": {"set": {"dept_id_list": 5}},
    "a field added": {"add": {"u_extension": {"badge": 7}}},
}


def test_schema_drift_in_oa_user_records(figures, mdm, sandboxes):
    dingtalk = sandboxes.control("dingtalk")
    _org_run(mdm, "dingtalk", "day0")
    before, before_expense = canonical_state(mdm)["employees"], expense_state(sandboxes)["staff"]
    tally: Counter[str] = Counter()
    for n, drift in enumerate(OA_DRIFT.values()):
        dingtalk.mutate("drift_user_fields", **drift)
        try:
            _org_run(mdm, "dingtalk", f"drift{n}")
            contract = False
        except SchemaDrift:
            contract = True
        now, now_expense = canonical_state(mdm)["employees"], expense_state(sandboxes)["staff"]
        quarantined = {i["record_key"] for i in open_items(mdm, kind="quarantine", entity="employee")}
        for no in before:
            if now.get(no) != before[no] or now_expense.get(no) != before_expense[no]:
                tally["lost"] += 1  # a field blanked or changed in the canonical tables or in 合思
            elif contract or quarantined:
                tally["refused"] += 1
            else:
                tally["accepted"] += 1
        dingtalk.mutate("drift_user_fields")  # the vendor reverts (or the mapping follows)
        _org_run(mdm, "dingtalk", f"drift{n}-after")
    staff_codes = Counter(s["code"] for s in sandboxes.control("ekuaibao").state()["staffs"])
    row = figures(
        f"schema drift in DingTalk user records ({len(OA_DRIFT)} renamed/retyped/added fields x {len(before)} people)",
        tried=len(OA_DRIFT) * len(before),
        accepted=tally["accepted"],
        refused=tally["refused"],
        lost=tally["lost"],
        duplicated=sum(n > 1 for n in staff_codes.values()),
    )
    assert row["verdict"] == "ok", row
    assert tally["accepted"] == len(before), "only the added field is read as before"
