"""Shared field types and validators (paved/fields.py)."""

from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError

from paved.fields import Quantity, UrlPath, parse_quantity, parse_window


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


@pytest.mark.parametrize("text", ["", "1.2.3", "-1", "12Qi", "Mi", "1 Gi", "٥١٢Mi", "５１２Mi"])
def test_parse_quantity_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        parse_quantity(text)


# Arabic-Indic, full-width and Devanagari digits: str.isdigit() and re's default \d take them all.
UNICODE_DIGITS = ["٣", "３", "३"]


@pytest.mark.parametrize("digit", UNICODE_DIGITS)
def test_unicode_digits_are_not_digits(digit: str) -> None:
    assert digit.isdigit()
    with pytest.raises(ValueError):
        parse_window(f"0{digit}:00-04:00")
    with pytest.raises(ValidationError):
        TypeAdapter(Quantity).validate_python(f"{digit}Gi")
    with pytest.raises(ValidationError):
        TypeAdapter(int).validate_python(digit)


def test_url_paths_are_printable_ascii() -> None:
    paths = TypeAdapter(UrlPath)
    assert paths.validate_python("/api/v1/*?x=%C3%A9") == "/api/v1/*?x=%C3%A9"
    for bad in ["/caf\u00e9", "/a\u00a0b", "/a b", "health"]:
        with pytest.raises(ValidationError):
            paths.validate_python(bad)
