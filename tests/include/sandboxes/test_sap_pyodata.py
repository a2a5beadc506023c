"""SAP's OData client ``pyodata`` works against the SAP sandbox unchanged: only the service URL differs."""

from __future__ import annotations

import datetime as dt

import pyodata
import pytest
import requests

from expense_sync_sandboxes.sap import PASSWORD, SESSION_COOKIE, USER


@pytest.fixture
def sap(sandboxes):
    control = sandboxes.control("sap")
    control.reset(gl_accounts=45, page_cap=10)
    return control


@pytest.fixture
def session():
    http = requests.Session()
    http.auth = (USER, PASSWORD)
    return http


def client(sandboxes, session, service: str):
    return pyodata.Client(f"{sandboxes.url('sap')}/sap/opu/odata/sap/{service}/", session)


def every_page(entity_set, build):
    """Run a query and follow ``__next`` to the end, as pyodata's docs show."""
    first = batch = build(entity_set.get_entities()).execute()
    found = list(batch)
    while batch.next_url:
        batch = entity_set.get_entities().next_url(batch.next_url).execute()
        found.extend(batch)
    return found, first


def test_pyodata_reads_gl_accounts_with_their_texts_through_every_page(sap, sandboxes, session):
    service = client(sandboxes, session, "API_GLACCOUNTINCHARTOFACCOUNTS_SRV")
    entity_set = service.entity_sets.A_GLAccountInChartOfAccounts
    accounts, first = every_page(
        entity_set, lambda q: q.filter("ChartOfAccounts eq 'YCOA'").expand("to_Text").count(inline=True)
    )
    assert first.total_count == len(accounts) == 45 and len(first) == 10
    assert len({a.GLAccount for a in accounts}) == 45
    travel = next(a for a in accounts if a.GLAccount == "6602010000")
    assert {t.Language: t.GLAccountLongName for t in travel.to_Text} == {
        "ZH": "管理费用-差旅费",
        "EN": "Admin Exp. - Travel",
    }
    assert travel.LastChangeDateTime.tzinfo is not None and travel.AccountIsBlockedForPosting is False
    assert sap.stats()["calls"]["GET /sap/opu/odata/sap/API_GLACCOUNTINCHARTOFACCOUNTS_SRV/$metadata"] == 1

    one = entity_set.get_entity(ChartOfAccounts="YCOA", GLAccount="6602980000").expand("to_Text").execute()
    assert one.AccountIsBlockedForPosting is True
    assert service.entity_sets.A_GLAccountText.get_entities().count().execute() == 65  # 45 ZH, 20 EN


def test_pyodata_reads_cost_centers_with_validity_filters(sap, sandboxes, session):
    service = client(sandboxes, session, "API_COSTCENTER_SRV")
    entity_set = service.entity_sets.A_CostCenter
    periods, first = every_page(entity_set, lambda q: q.filter(ControllingArea="A000").count(inline=True))
    assert first.total_count == len(periods) == 24  # 20 cost centers, 4 of them with two validity periods
    cutover = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    current, _ = every_page(entity_set, lambda q: q.filter(ValidityEndDate__gte=cutover).expand("to_Text"))
    assert len(current) == 19  # the expired one is gone; each renamed one has one current period
    renamed = next(c for c in current if c.CostCenter == "1000000003")
    assert renamed.ValidityStartDate == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert {t.Language: t.CostCenterName for t in renamed.to_Text} == {"ZH": "研发中心", "EN": "R&D Center"}


def test_pyodata_reads_projects_and_journal_items_and_can_fetch_a_csrf_token(sap, sandboxes, session):
    projects = client(sandboxes, session, "API_ENTERPRISE_PROJECT_SRV;v=0002").entity_sets.A_EnterpriseProject
    assert sorted(p.Project for p in projects.get_entities().execute()) == [f"P10000{i}" for i in range(1, 7)]

    journal = client(sandboxes, session, "API_JOURNALENTRYITEMBASIC_SRV")
    assert journal.entity_sets.A_JournalEntryItemBasic.get_entities().select("GLAccount").execute() == []
    companies = journal.entity_sets.A_CompanyCode.get_entities().execute()
    assert [c.CompanyCode for c in companies] == ["1000", "2000"]

    # pyodata leaves CSRF to the caller: HEAD with x-csrf-token: Fetch on the same session
    head = session.head(
        f"{sandboxes.url('sap')}/sap/opu/odata/sap/API_JOURNALENTRYITEMBASIC_SRV/", headers={"x-csrf-token": "Fetch"}
    )
    assert head.status_code == 200 and head.headers["x-csrf-token"]
    assert SESSION_COOKIE in session.cookies
