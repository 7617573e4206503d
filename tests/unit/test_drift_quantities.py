"""Drift compares quantities by value: the API server stores them in canonical form (1024Mi is read back as 1Gi).

The canonical forms are apimachinery's (pkg/api/resource/quantity.go CanonicalizeBytes; quantity_test.go
TestQuantityParseEmit and TestQuantityString).
"""

from fractions import Fraction

import pytest

from norn.operations.drift import edited_fields, quantity_value, same_quantity


@pytest.mark.parametrize("sent, stored", [
    ("1024Mi", "1Gi"), ("0.5Gi", "512Mi"), ("1000M", "1G"), ("307200Ki", "300Mi"), ("1.08", "1080m"),
    (".001Ki", "1024m"), (".000000000001Ki", "2n"), ("1000E", "1e21"), (".001e12", "1e9"), ("5000m", "5"),
])
def test_a_quantity_and_its_canonical_form_are_the_same(sent, stored):
    assert same_quantity(sent, stored)


@pytest.mark.parametrize("one, other", [("1Gi", "1G"), ("1Gi", "2Gi"), ("1Gi", "1"), ("1Gi", None), ("x", "x")])
def test_different_values_or_no_quantity_are_not_the_same(one, other):
    assert not same_quantity(one, other)


def test_quantity_values():
    assert quantity_value("1Ki") == 1024 and quantity_value("500m") == Fraction(1, 2)
    assert quantity_value("-1e3") == -1000 and quantity_value("3.001n") == Fraction(4, 10**9)
    assert [quantity_value(text) for text in ("", ".", "1 Gi", "1GB", "Gi", 5)] == [None] * 6


def test_a_volume_size_the_server_canonicalised_is_not_an_edit():
    want = {"spec": {"resources": {"requests": {"storage": "1024Mi"}}}}
    assert edited_fields(want, {"spec": {"resources": {"requests": {"storage": "1Gi"}}}}) == []
    assert edited_fields(want, {"spec": {"resources": {"requests": {"storage": "2Gi"}}}}) == [
        ("spec.resources.requests.storage", "1024Mi", "2Gi")
    ]


def test_only_quantity_fields_compare_by_value():
    assert edited_fields({"metadata": {"labels": {"size": "1024Mi"}}}, {"metadata": {"labels": {"size": "1Gi"}}}) == [
        ("metadata.labels.size", "1024Mi", "1Gi")
    ]
    limits = {"containers": [{"name": "web", "resources": {"limits": {"memory": "1000M"}}}]}
    stored = {"containers": [{"name": "web", "resources": {"limits": {"memory": "1G"}}}]}
    assert edited_fields(limits, stored) == []
