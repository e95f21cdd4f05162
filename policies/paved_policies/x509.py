"""The two facts ACM's controls read off an imported certificate: when it expires and how big its RSA key is.

A policy pack may import only the standard library and pulumi-policy, and neither parses X.509, so this
walks the DER just far enough (RFC 5280 section 4.1): Certificate -> tbsCertificate -> validity.notAfter and
subjectPublicKeyInfo; an RSA public key (RFC 8017 appendix A.1.1) is SEQUENCE {modulus, publicExponent}.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime

RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.S)
_SEQUENCE, _BIT_STRING, _OID, _UTC_TIME, _GENERALIZED_TIME, _EXPLICIT_0 = 0x30, 0x03, 0x06, 0x17, 0x18, 0xA0


@dataclass(frozen=True, slots=True)
class Certificate:
    not_after: datetime
    key_algorithm: str  # the public key's algorithm OID
    rsa_bits: int | None  # the modulus length of an RSA key


class _Malformed(ValueError):
    pass


def _element(data: bytes, offset: int) -> tuple[int, bytes, int]:
    """(tag, content, offset after it) of the DER element at `offset`."""
    if offset + 2 > len(data):
        raise _Malformed("truncated")
    tag, length, offset = data[offset], data[offset + 1], offset + 2
    if length & 0x80:
        size = length & 0x7F
        if not 0 < size <= 4 or offset + size > len(data):
            raise _Malformed("bad length")
        length, offset = int.from_bytes(data[offset : offset + size], "big"), offset + size
    if offset + length > len(data):
        raise _Malformed("truncated")
    return tag, data[offset : offset + length], offset + length


def _children(data: bytes) -> list[tuple[int, bytes]]:
    found, offset = [], 0
    while offset < len(data):
        tag, content, offset = _element(data, offset)
        found.append((tag, content))
    return found


def _expect(element: tuple[int, bytes], tag: int) -> bytes:
    if element[0] != tag:
        raise _Malformed(f"expected tag {tag:#x}, found {element[0]:#x}")
    return element[1]


def _oid(content: bytes) -> str:
    if not content:
        raise _Malformed("empty OID")
    arcs, value = [content[0] // 40, content[0] % 40], 0
    for byte in content[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    return ".".join(map(str, arcs))


def _time(element: tuple[int, bytes]) -> datetime:
    text = element[1].decode("ascii")
    if element[0] == _UTC_TIME:  # YYMMDDHHMMSSZ; years 50-99 are 19xx (RFC 5280 4.1.2.5.1)
        parsed = datetime.strptime(text, "%y%m%d%H%M%SZ")
        if parsed.year >= 2050:
            parsed = parsed.replace(year=parsed.year - 100)
    elif element[0] == _GENERALIZED_TIME:
        parsed = datetime.strptime(text, "%Y%m%d%H%M%SZ")
    else:
        raise _Malformed("not a time")
    return parsed.replace(tzinfo=UTC)


def _rsa_bits(public_key: bytes) -> int:
    # A BIT STRING's first byte counts unused bits: always 0 for a DER-encoded key.
    modulus = _children(_expect(_children(public_key[1:])[0], _SEQUENCE))[0][1]
    return int.from_bytes(modulus, "big").bit_length()


def parse_certificate(text: str) -> Certificate | None:
    """The first certificate of a PEM text, or None when it is not one."""
    match = _PEM.search(text)
    if match is None:
        return None
    try:
        der = base64.b64decode("".join(match.group(1).split()), validate=True)
        certificate = _expect(_children(der)[0], _SEQUENCE)
        tbs = _children(_expect(_children(certificate)[0], _SEQUENCE))
        if tbs and tbs[0][0] == _EXPLICIT_0:  # the optional version
            tbs = tbs[1:]
        # serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo
        validity = _children(_expect(tbs[3], _SEQUENCE))
        key_info = _children(_expect(tbs[5], _SEQUENCE))
        algorithm = _oid(_expect(_children(_expect(key_info[0], _SEQUENCE))[0], _OID))
        public_key = _expect(key_info[1], _BIT_STRING)
        bits = _rsa_bits(public_key) if algorithm == RSA_ENCRYPTION else None
        return Certificate(_time(validity[1]), algorithm, bits)
    # _Malformed, a bad base64 (binascii.Error) and undecodable times are all ValueErrors.
    except (IndexError, ValueError):
        return None
