"""AWS Security Hub's Foundational Security Best Practices (FSBP) controls, as the pack maps onto them.

`fsbp_controls.json` lists every FSBP control of the services paved declares, read off AWS's control
reference pages (its `sources` and `readOn` say which, and when): the consolidated control id, title,
severity and the CIS AWS Foundations Benchmark requirements AWS relates to it. A control a preview can't
decide carries `previewCannotDecide`, the reason; one it decides only for what the program declares carries
`previewDecidesWhen`; every other control is claimed by at least one rule's `fsbp` ids. No library ships
this list (boto3's Security Hub client asks a live account), so it is data, dated, and `tests/test_fsbp.py`
holds the rules and the list to each other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType

CATALOGUE = Path(__file__).with_name("fsbp_controls.json")
# pulumi-policy's `framework` names one framework per policy: FSBP is it; CIS ids go in tags.
FRAMEWORK_NAME = "aws-foundational-security-best-practices"
FRAMEWORK_VERSION = "1.0.0"
STANDARD_URL = "https://docs.aws.amazon.com/securityhub/latest/userguide/fsbp-standard.html"
CONTROL_URL = "https://docs.aws.amazon.com/securityhub/latest/userguide/{page}-controls.html#{anchor}"


@dataclass(frozen=True, slots=True)
class Control:
    id: str
    title: str
    severity: str
    cis: tuple[str, ...]
    preview_cannot_decide: str | None
    # Set when a preview decides the control only for what the program itself declares.
    preview_decides_when: str | None
    # Set where paved's pack judges the same risk differently on purpose, and why.
    paved_differs: str | None
    note: str | None

    @property
    def service(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def url(self) -> str:
        service = self.service.lower()
        return CONTROL_URL.format(page=service, anchor=self.id.lower().replace(".", "-"))


@cache
def controls() -> Mapping[str, Control]:
    document = json.loads(CATALOGUE.read_text())
    return MappingProxyType(
        {
            control_id: Control(
                id=control_id,
                title=entry["title"],
                severity=entry["severity"],
                cis=tuple(entry.get("cis", ())),
                preview_cannot_decide=entry.get("previewCannotDecide"),
                preview_decides_when=entry.get("previewDecidesWhen"),
                paved_differs=entry.get("pavedDiffers"),
                note=entry.get("note"),
            )
            for control_id, entry in document["controls"].items()
        }
    )


def cis_tags(control_ids: tuple[str, ...]) -> list[str]:
    """The CIS requirements AWS relates to these controls, as tags: `cis:v3.0.0/2.1.1`."""
    catalogue = controls()
    return sorted({f"cis:{requirement}" for i in control_ids for requirement in catalogue[i].cis})
