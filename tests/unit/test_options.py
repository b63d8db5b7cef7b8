"""The option lookup order (message, then actor, then default) and its three unset rules."""

from __future__ import annotations

import pytest

from taskq.options import lookup_option


@pytest.mark.parametrize(
    ("message", "actor", "unset", "expected"),
    [
        ({}, {}, "missing", "default"),
        ({"x": 1}, {"x": 2}, "missing", 1),
        ({}, {"x": 2}, "missing", 2),
        ({"x": None}, {"x": 2}, "missing", None),
        ({}, {"x": None}, "missing", None),
        ({"x": None}, {"x": 2}, "none", 2),
        ({"x": None}, {"x": None}, "none", "default"),
        ({"x": False}, {"x": 2}, "none", False),
        ({"x": 0}, {"x": 2}, "falsy", 2),
        ({"x": 0}, {}, "falsy", "default"),
        ({"x": 0}, {"x": 0}, "falsy", 0),
        ({"x": 5}, {"x": 2}, "falsy", 5),
    ],
)
def test_lookup_order_and_unset_rules(message, actor, unset, expected):
    assert lookup_option("x", message, actor, "default", unset=unset) == expected


def test_no_actor_means_the_default():
    assert lookup_option("x", {}, None, 3) == 3
    assert lookup_option("x", {"x": None}, None, 3, unset="none") == 3
