"""Shared field types and validators (paved/fields.py)."""

from decimal import Decimal

import pytest

from paved.fields import parse_quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("250m", "0.25"),
        ("1", "1"),
        ("1.5", "1.5"),
        ("512Mi", str(512 * 2**20)),
        ("1G", "1000000000"),
        ("2e3", "2000"),
    ],
)
def test_parse_quantity(text: str, value: str) -> None:
    assert parse_quantity(text) == Decimal(value)


@pytest.mark.parametrize("text", ["", "1.2.3", "-1", "12Qi", "Mi", "1 Gi"])
def test_parse_quantity_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        parse_quantity(text)
