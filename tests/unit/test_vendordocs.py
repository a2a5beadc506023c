"""The golden-fixture helper itself: it must see a missing or retyped field."""

import pytest
from vendordocs import assert_same_shape, shape


def test_shape_lists_paths_and_types():
    assert shape({"a": [{"b": 1}], "c": None}) == {
        "$": "object",
        "$.a": "array",
        "$.a[]": "object",
        "$.a[].b": "number",
        "$.c": "null",
    }


def test_extra_keys_pass_missing_and_retyped_fail():
    assert_same_shape({"a": 1}, {"a": 2, "b": "x"})
    with pytest.raises(AssertionError, match=r"\$.a missing"):
        assert_same_shape({"a": 1}, {"b": 1})
    with pytest.raises(AssertionError, match=r"\$.a is string, documented as number"):
        assert_same_shape({"a": 1}, {"a": "1"})
