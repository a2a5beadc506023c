"""Strict reads of vendor records: a missing field is named, never defaulted."""

import pytest

from expense_sync.hooks.contract import required
from expense_sync.hooks.errors import ContractError


def test_first_present_path_wins_and_missing_is_named():
    record = {"data": {"debit_org": "0", "old": 5}, "none": None}
    assert required(record, "data.debit_org", "data.old", vendor="yonyou") == "0"
    assert required(record, "data.gone", "data.old", vendor="yonyou") == 5
    with pytest.raises(ContractError, match=r"'data.credit_org'"):
        required(record, "data.credit_org", vendor="yonyou")
    with pytest.raises(ContractError, match=r"'none'"):
        required(record, "none", vendor="yonyou")
    assert required(record, "none", vendor="yonyou", nullable=True) is None
