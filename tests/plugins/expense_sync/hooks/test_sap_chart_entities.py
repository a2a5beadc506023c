"""SAP chart entities an installation may lack: configurable per kind in the ``erp_sap`` extras, a
service the Gateway does not have raises EntityUnavailableError, and the weekly chart sync completes
without it (reported skipped, canonical records untouched). Against the SAP sandbox and PostgreSQL."""

from __future__ import annotations

import pytest

from expense_sync.chart.extract import extract_chart
from expense_sync.chart.merge import merge_chart
from expense_sync.hooks.errors import ConfigurationError, EntityUnavailableError, VendorRequestError
from expense_sync.hooks.registry import erp_hook
from expense_sync.hooks.sap import SapHook
from testkit import FAST

PROJECT_SERVICE = "API_ENTERPRISE_PROJECT_SRV;v=0002"
PROJECT_PATH = f"GET /sap/opu/odata/sap/{PROJECT_SERVICE}/A_EnterpriseProject"


@pytest.fixture
def sap(sandboxes):
    return sandboxes.control("sap")


@pytest.fixture
def use_extras(sandboxes, monkeypatch):
    """Point ``erp_sap`` at the sandbox with extra connection settings (the registry's hook reads it too)."""

    def use(**extra) -> SapHook:
        monkeypatch.setenv("AIRFLOW_CONN_ERP_SAP", sandboxes.connection("erp_sap", **{**FAST, **extra}))
        return SapHook()

    return use


def test_a_service_the_system_lacks_is_an_unavailable_entity_naming_the_service(sap, use_extras):
    sap.reset(missing_services=[PROJECT_SERVICE])
    hook = use_extras()
    with pytest.raises(EntityUnavailableError) as caught:
        list(hook.chart("project"))
    assert (caught.value.status, caught.value.code) == (403, "/IWFND/MED/170")
    assert "API_ENTERPRISE_PROJECT_SRV" in caught.value.message and "0002" in caught.value.message
    assert sap.stats()["calls"][PROJECT_PATH] == 1  # not retried: the same call answers the same way
    assert len(list(hook.chart("cost_center"))) == 20  # the other services are there


def test_an_entity_switched_off_in_the_extras_is_unavailable_without_a_call(sap, use_extras):
    hook = use_extras(entities={"project": {"enabled": False}})
    with pytest.raises(EntityUnavailableError, match="switched off"):
        hook.chart("project")
    assert PROJECT_PATH not in sap.stats()["calls"]
    assert len(list(hook.chart("gl_account"))) == 40


def test_an_entity_can_be_read_from_another_service_version_and_without_incremental_reads(sap, use_extras):
    hook = use_extras(entities={"project": {"service": "API_ENTERPRISE_PROJECT_SRV;v=0003"}})
    with pytest.raises(EntityUnavailableError, match="version '0003'"):
        list(hook.chart("project"))

    hook = use_extras(entities={"project": {"changed": None}})
    assert not hook.supports_changed_since("project")
    hook = use_extras(entities={"project": {"entity_set": "A_NoSuchSet"}})
    with pytest.raises(VendorRequestError) as caught:  # a wrong set in a service that is there: an error
        list(hook.chart("project"))
    assert caught.value.status == 404 and not isinstance(caught.value, EntityUnavailableError)


@pytest.mark.parametrize(
    ("entities", "refused"),
    [
        ({"gl_account": {"enabled": False}}, "cannot be switched off"),
        ({"projects": {"enabled": False}}, "unknown chart kinds"),
        ({"project": {"enabeld": False}}, "enabeld"),
        ({"project": {"service": ""}}, "service"),
    ],
)
def test_entity_settings_that_cannot_work_are_refused(use_extras, entities, refused):
    with pytest.raises(ConfigurationError, match=refused):
        use_extras(entities=entities).chart("gl_account")


def projects(conn) -> list[tuple]:
    """The canonical projects and the project watermark."""
    rows = conn.execute("SELECT code, name, active, updated_at FROM mdm.project ORDER BY code").fetchall()
    mark = conn.execute("SELECT value FROM sync.watermark WHERE system = 'sap' AND stream = 'project'").fetchall()
    return [*rows, *mark]


@pytest.mark.parametrize("how", ["service not activated", "switched off"])
def test_the_chart_sync_completes_without_the_project_service_and_leaves_projects_alone(
    mdm, sandboxes, sap, use_extras, how
):
    use_extras()
    extracted = extract_chart(mdm, erp_hook("sap"), "test/1")
    merge_chart(mdm, extracted["loads"], "test/1")
    before = projects(mdm)
    assert len(before) == 6 + 1 and any(row[2] for row in before[:6])

    if how == "service not activated":
        sap.reset(missing_services=[PROJECT_SERVICE])  # the same chart, without the project API
        use_extras()
    else:
        use_extras(entities={"project": {"enabled": False}})
    sap.mutate("rename_gl_account", gl_account="6602030000", name="管理费用-招待费")
    extracted = extract_chart(mdm, erp_hook("sap"), "test/2", full=True)
    merged = merge_chart(mdm, extracted["loads"], "test/2")

    assert set(extracted["skipped"]) == {"project"}
    reason = extracted["skipped"]["project"]
    assert ("/IWFND/MED/170" in reason) if how == "service not activated" else ("switched off" in reason)
    assert extracted["loads"]["project"] == {"skipped": reason}
    assert merged["project"] == {"skipped": reason}  # reported, not merged
    assert merged["gl_account"]["updated"] == 1  # the rest of the chart was synced
    assert {"gl_account", "expense_category", "cost_center"} <= set(merged)
    assert projects(mdm) == before  # not deactivated for not being listed, not touched; watermark kept


def test_without_the_gl_account_service_the_chart_sync_fails(mdm, sap, use_extras):
    sap.reset(missing_services=["API_GLACCOUNTINCHARTOFACCOUNTS_SRV"])
    use_extras()
    with pytest.raises(EntityUnavailableError):
        extract_chart(mdm, erp_hook("sap"), "test/1")
    assert mdm.execute("SELECT count(*) FROM mdm.gl_account").fetchone() == (0,)


def test_prerequisites_are_met_by_the_sandbox_and_name_a_missing_gl_account_service(sap, use_extras):
    assert use_extras().prerequisites() == []
    sap.reset(missing_services=[PROJECT_SERVICE])  # optional: not a prerequisite
    assert use_extras().prerequisites() == []
    sap.reset(missing_services=["API_GLACCOUNTINCHARTOFACCOUNTS_SRV"])
    assert use_extras().prerequisites() == [
        "service API_GLACCOUNTINCHARTOFACCOUNTS_SRV (gl_account): not activated (the chart sync needs it)"
    ]
