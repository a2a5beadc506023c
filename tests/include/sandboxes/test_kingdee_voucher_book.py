"""The K3Cloud sandbox's voucher book and its indexes (numbering, lookups, queries, budget balances)
answer exactly what a scan of every voucher answers, and a bulk-seeded voucher is held like a posted one.

The reference scans below are the book's former per-call scans, kept here as the specification."""

from decimal import Decimal

import pytest

from expense_sync_sandboxes.budgetcenter import BudgetLine
from expense_sync_sandboxes.kingdee import budget
from expense_sync_sandboxes.kingdee.chart import Chart
from expense_sync_sandboxes.kingdee.query import QueryError, accessor, execute, field_value, page, prepare
from expense_sync_sandboxes.kingdee.vouchers import EXTERNAL_REF_FIELD, KingdeeError, VoucherBook

HIDDEN = frozenset({EXTERNAL_REF_FIELD})  # a standard data center's vouchers have no extension field


def model(day, *lines, group="PRE001", number=None, ref=None, book="001"):
    """A Save model: ``lines`` of (account, debit, credit, cost center, project)."""
    entries = []
    for account, debit, credit, cc, project in lines:
        detail = {"FDETAILID__FFLEX5": {"FNumber": cc}} if cc else {}
        if project:
            detail["FDETAILID__FF100002"] = {"FNumber": project}
        text = f"ES#{ref}# 差旅费" if ref else "手工凭证"
        account = {"FNumber": account}
        entries.append(
            {"FEXPLANATION": text, "FACCOUNTID": account, "FDetailID": detail, "FDEBIT": debit, "FCREDIT": credit}
        )
    return {
        "FAccountBookID": {"FNumber": book},
        "FDate": day,
        "FVOUCHERGROUPID": {"FNumber": group},
        "FVOUCHERGROUPNO": number,
        "FEntity": entries,
    }


def claim(day, amount, ref=None, cc="BM000007", project=None, **kw):
    return model(day, ("6602.01", amount, "0", cc, project), ("2241.01", "0", amount, None, None), ref=ref, **kw)


def reference_rows(book):
    """The rows as the book built them before its indexes: a dict per voucher × entry."""
    rows = []
    for voucher in book.vouchers.values():
        header = {k: v for k, v in voucher.items() if k != "FEntity" and k not in HIDDEN}
        for entry in voucher["FEntity"]:
            rows.append({**header, **entry, "FEntity_FEntryID": entry["FEntryID"]})
    return rows


def reference_figures(book, line):
    """The budget center's actual and occupied amounts of a line, by a scan of every voucher."""
    year, month = map(int, line.period.split("-"))
    actual = occupied = Decimal("0")
    for voucher in book.vouchers.values():
        if (voucher["FYEAR"], voucher["FPERIOD"], voucher["FAccountBookID"]["FNumber"]) != (year, month, line.company):
            continue
        for entry in voucher["FEntity"]:
            detail = entry["FDetailID"]
            if (detail.get("FFLEX5") or {}).get("FNumber") != line.cost_center:
                continue
            if line.project is not None and (detail.get("FF100002") or {}).get("FNumber") != line.project:
                continue
            number = entry["FACCOUNTID"]["FNumber"]
            if line.account is not None and not (number == line.account or number.startswith(line.account + ".")):
                continue
            if voucher["FDocumentStatus"] == "C":
                actual += entry["FDEBIT"] - entry["FCREDIT"]
            else:
                occupied += entry["FDEBIT"] - entry["FCREDIT"]
    return actual, occupied


@pytest.fixture
def book():
    """Vouchers in two periods and two groups, by hand and with refs, audited, re-saved and deleted."""
    book = VoucherBook(Chart(seed=1, accounts=60, expense_items=10, cost_centers=20, projects=8), HIDDEN)
    for n in range(1, 13):
        day = "2025-03-10" if n % 3 else "2025-04-02"
        saved = book.save(claim(day, f"{n}0.5{n % 10}", ref=f"BX-{n}", project="XM2024006" if n % 2 else None))
        if n % 4 == 0:
            book.operate("submit", {"Ids": str(saved["FVOUCHERID"])})
            book.audit_as_accountant({"id": saved["FVOUCHERID"]})
    book.save(claim("2025-03-31", "99.00", cc="BM000011", group="PRE004"))  # keyed in by hand
    book.save(claim("2025-03-12", "7.00", ref="BX-1"))  # the same ref twice
    book.save({**claim("2025-04-20", "11.00", ref="BX-2"), "FVOUCHERID": 200_002})  # moved to April
    book.operate("delete", {"Ids": "200005"})
    return book


def test_numbers_are_taken_per_book_group_and_period(book):
    march = [
        v["FVOUCHERGROUPNO"] for v in book.vouchers.values() if (v["FPERIOD"], v["FVOUCHERGROUPID"]["Id"]) == (3, 1)
    ]
    assert book.vouchers[200_002]["FVOUCHERGROUPNO"] == 5  # moved to April, where 2 is taken: the next one
    assert book.vouchers[200_013]["FVOUCHERGROUPNO"] == 1  # 转 has numbers of its own
    assert sorted(set(march)) == sorted(march)  # no number twice in a group and period
    wanted = book.save(claim("2025-03-15", "1.00", number=40))
    assert wanted["FVOUCHERGROUPNO"] == 40  # a free number given is kept
    assert book.save(claim("2025-03-15", "1.00", number=40))["FVOUCHERGROUPNO"] == 41  # taken: the next one
    book.operate("delete", {"Ids": "200016"})
    assert book.save(claim("2025-03-15", "1.00"))["FVOUCHERGROUPNO"] == 41  # the highest left, plus one
    again = book.save({**claim("2025-03-16", "2.00"), "FVOUCHERID": wanted["FVOUCHERID"]})
    assert again["FVOUCHERGROUPNO"] == 40  # saved again: it keeps its number
    assert book.save(claim("2025-05-01", "1.00"))["FVOUCHERGROUPNO"] == 1


def test_lookups_by_id_bill_number_and_ref(book):
    found, errors = book.find({"Ids": "200003,200005", "Numbers": ["PZ200007", "PZ999"]})
    assert [v["FVOUCHERID"] for v in found] == [200_003, 200_007]
    assert [e["Message"] for e in errors] == ["单据“200005”不存在或已被删除", "单据“PZ999”不存在或已被删除"]
    assert book.view({"Number": "PZ200004"})["Id"] == 200_004
    audited = book.audit_as_accountant({"external_ref": "BX-1"})  # the oldest voucher carrying it
    assert (audited["FVOUCHERID"], audited["FDocumentStatus"]) == (200_001, "C")
    with pytest.raises(KeyError):
        book.audit_as_accountant({"external_ref": "BX-5"})  # deleted


QUERIES = [
    ("FVOUCHERID,FEntity_FEntryID,FACCOUNTID.FNumber,FDEBIT,FCREDIT,FDetailID.FFLEX5.FNumber",
     "FAccountBookID.FNumber='001' AND FYEAR=2025 AND FPERIOD=3", "FVOUCHERID ASC, FEntity_FEntryID ASC"),
    ("FVOUCHERID,FBillNo,FVOUCHERGROUPNO,FDocumentStatus,FEXPLANATION", "FYEAR='2025' AND FPERIOD=4", "FVOUCHERID"),
    ("FVOUCHERID,FEXPLANATION", "FEXPLANATION LIKE 'ES#BX-1#%' AND FYEAR=2025 AND FPERIOD=3", "FVOUCHERID ASC"),
    ("FVOUCHERID,FEXPLANATION", "fexplanation like 'es#bx-1#%'", ""),
    ("FVOUCHERID,FEXPLANATION", "FEXPLANATION LIKE 'ES#BX-_#%'", "FEXPLANATION DESC"),
    ("FVOUCHERID,FDEBIT", "FVOUCHERID=200004", "FEntity_FEntryID DESC"),
    ("FVOUCHERID,FDEBIT", "FVOUCHERID=200004 OR FPERIOD=4", "FVOUCHERID DESC"),
    ("FVOUCHERID,FDEBIT", "NOT FPERIOD=3 AND (FDEBIT>20 OR FCREDIT>20)", "FDEBIT DESC, FVOUCHERID"),
    ("FVOUCHERID,FDetailID.FF100002.FNumber", "FDetailID.FF100002.FNumber IS NOT NULL AND FPERIOD=3", ""),
    ("FBillNo,FDocumentStatus", "FDocumentStatus IN ('C','B') AND FYEAR=2025", "FBillNo DESC"),
    ("FVOUCHERID,FEntity_FEntryID", "", "FVOUCHERID ASC, FEntity_FEntryID ASC"),
    ("FVOUCHERID,FEntity_FEntryID", "FPERIOD=3", "FENTITY_FENTRYID DESC"),
]  # fmt: skip


@pytest.mark.parametrize("top,start,limit", [(0, 0, 2000), (0, 5, 4), (3, 0, 2000), (0, 40, 10)])
@pytest.mark.parametrize("keys,text,order_string", QUERIES)
def test_queries_answer_as_a_scan_of_every_row(book, keys, text, order_string, top, start, limit):
    query = {"FieldKeys": keys, "FilterString": text, "OrderString": order_string}
    query |= {"TopRowCount": top, "StartRow": start, "Limit": limit}
    expected = execute(reference_rows(book), book.fields(), query, 2000)
    keys, start, limit, top = prepare(book.fields(), query, 2000)
    assert page(book.select(query, top), keys, start, limit) == expected
    assert page(book.select(query, top), keys, start, limit) == expected  # the kept selection


KEYS = [
    "FVOUCHERID", "fvoucherid", "FEntity_FEntryID", "FACCOUNTID", "FACCOUNTID.FNumber", "faccountid.fnumber",
    "FACCOUNTID.FNoSuch", "FDetailID.FFLEX5.FNumber", "FDetailID.FF100002.FNumber", "FDetailID.FFLEX5",
    "FDEBIT.FNumber", "FDocumentStatus.x", "FNoSuch", EXTERNAL_REF_FIELD, "FEntity",
]  # fmt: skip


@pytest.mark.parametrize("key", KEYS)
def test_a_page_reads_each_field_as_the_general_path_does(book, key):
    """``page`` reads through :func:`accessor`, a fast path per key: every row, key by key, answers what
    :func:`field_value` answers, or is refused as it refuses (other spellings, missing sub-fields,
    references to nothing, hidden fields)."""
    read = accessor(key)
    for row in book.select({"FilterString": ""}, 0):
        try:
            expected = field_value(row, key)
        except QueryError:
            with pytest.raises(QueryError):
                read(row)
        else:
            assert read(row) == expected


@pytest.mark.parametrize(
    "text", ["FNOSUCH='x' AND FYEAR=2025 AND FPERIOD=3", f"{EXTERNAL_REF_FIELD}='BX-1'", "FYEAR='abc' AND FPERIOD=3"]
)
def test_a_filter_the_scan_refuses_is_refused(book, text):
    query = {"FieldKeys": "FVOUCHERID", "FilterString": text}
    with pytest.raises(QueryError):
        execute(reference_rows(book), book.fields(), query, 2000)
    with pytest.raises(QueryError):
        book.select(query, 0)


def test_a_kept_selection_follows_every_write(book):
    query = {"FieldKeys": "FVOUCHERID,FDocumentStatus,FDEBIT", "FilterString": "FYEAR=2025 AND FPERIOD=3"}
    before = page(book.select(query, 0), ["FVOUCHERID", "FDocumentStatus"], 0, 2000)
    book.operate("submit", {"Ids": "200001"})
    book.save(claim("2025-03-20", "5.00", ref="BX-NEW"))
    after = page(book.select(query, 0), ["FVOUCHERID", "FDocumentStatus"], 0, 2000)
    assert after == execute(
        reference_rows(book), book.fields(), {**query, "FieldKeys": "FVOUCHERID,FDocumentStatus"}, 2000
    )
    assert after != before and [200_001, "B"] in after


@pytest.mark.parametrize(
    "line",
    [
        BudgetLine("001", "BM000007", "2025-03", Decimal("1000")),
        BudgetLine("001", "BM000007", "2025-03", Decimal("1000"), project="XM2024006"),
        BudgetLine("001", "BM000007", "2025-04", Decimal("1000"), account="6602"),
        BudgetLine("001", "BM000011", "2025-03", Decimal("1000"), account="6602.01"),
        BudgetLine("001", "BM000007", "2025-03", Decimal("1000"), account="6603"),
    ],
)
def test_budget_balances_kept_at_write_time_equal_a_scan(book, line):
    book.operate("unaudit", {"Ids": "200008"})  # audited, then back to editable
    assert budget.figures(book, line) == reference_figures(book, line)


def test_a_bulk_seed_holds_vouchers_as_saved_submitted_and_audited(book):
    posted = book.save(claim("2025-03-05", "12.34", ref="BX-P", project="XM2024006"))
    book.operate("submit", {"Ids": str(posted["FVOUCHERID"])})
    book.audit_as_accountant({"id": posted["FVOUCHERID"]})
    again = claim("2025-03-05", "12.34", ref="BX-P", project="XM2024006")
    answer = book.seed([{"id": 600_000, "number": 77, "state": "C", "model": again}])
    assert answer == {"seeded": 1, "ids": [600_000, 600_000]}
    seeded = book.vouchers[600_000]
    assert (seeded["FBillNo"], seeded["FVOUCHERGROUPNO"], seeded["FDocumentStatus"]) == ("PZ600000", 77, "C")
    differs = {"FVOUCHERID", "FBillNo", "FVOUCHERGROUPNO", "FCreateDate", "FModifyDate", "FAuditDate", "FEntity"}
    assert {k: v for k, v in seeded.items() if k not in differs} == {
        k: v for k, v in posted.items() if k not in differs
    }
    same = [{k: v for k, v in e.items() if k != "FEntryID"} for e in seeded["FEntity"]]
    assert same == [{k: v for k, v in e.items() if k != "FEntryID"} for e in posted["FEntity"]]
    assert book.save(claim("2025-03-06", "1.00"))["FVOUCHERID"] == 600_001  # ids go on above the seed
    with pytest.raises(ValueError, match="not above"):
        book.seed([{"id": 600_001, "number": 1, "model": claim("2025-03-05", "1.00")}])
    with pytest.raises(ValueError, match="借贷不平衡"):
        book.seed([{"id": 700_000, "number": 1, "model": model("2025-03-05", ("6602.01", "1", "0", None, None))}])
    with pytest.raises(KingdeeError):
        book.save({**claim("2025-03-05", "1.00"), "FVOUCHERID": 600_000})  # audited: not editable
