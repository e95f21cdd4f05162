"""`paved images check`: admit a release only when ECR's scan of each app's image found nothing at or above
the stack's `paved:registry.blockSeverity`.

It reads `findingSeverityCounts`, which basic and enhanced scanning both return, and polls rather than use
boto3's `image_scan_complete` waiter: under enhanced scanning an image scanned and monitored reports
`ACTIVE`, never `COMPLETE`, so the waiter would wait until it times out. A multi-platform image is judged
by each platform's scan: ECR scans those, not the index the tag names.
https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageScanStatus.html
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from botocore.exceptions import ClientError

# Most severe first; basic scanning's CVE severities, enhanced scanning's Inspector ones.
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")
# Inspector has not rated these yet: reported, never counted against a threshold they can't be placed on.
UNRATED = "UNTRIAGED"
SCANNED = frozenset({"COMPLETE", "ACTIVE"})
# Scans that will not finish by waiting: the image is not admitted.
NEVER_SCANNED = frozenset(
    {
        "FAILED",
        "UNSUPPORTED_IMAGE",
        "SCAN_ELIGIBILITY_EXPIRED",
        "FINDINGS_UNAVAILABLE",
        "LIMIT_EXCEEDED",
        "IMAGE_ARCHIVED",
        "IMAGE_SIZE_EXCEEDED",
    }
)
POLL_SECONDS = 15
# What a multi-platform build pushes under the tag: an index naming one image per platform. ECR scans
# each platform's image, never the index.
INDEX_TYPES = frozenset(
    {"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"}
)
_IMAGE_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.v1+json",
)
_ECR_IMAGE = re.compile(r"(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:@]+)([:@].+)")


@dataclass(frozen=True)
class EcrImage:
    """An image in ECR: `registry_id` None is the caller's account, `region` None the stack's."""

    repository: str
    reference: str  # ":<tag>" or "@sha256:<digest>"
    registry_id: str | None = None
    region: str | None = None

    @property
    def image_id(self) -> dict[str, str]:
        if self.reference.startswith("@"):
            return {"imageDigest": self.reference[1:]}
        return {"imageTag": self.reference[1:]}

    def __str__(self) -> str:
        return self.repository + self.reference


def repository_name(project: str, stack: str, app: str) -> str:
    """`<project>-<stack>/<app>`, lowercase: each stack owns its repositories (staging and prod may share an
    account), and ECR names are lowercase letters, digits and single `.`/`_`/`-` separators between them."""
    return f"{project}-{stack}/{app}".lower()


def own_repository(image: str, apps: Sequence[str]) -> tuple[str, str] | None:
    """(app, `:tag` or `@digest`) when `image` names an app of the stack with no registry or path, as
    `api:2.7.0`: that app's own repository. `docker.io/library/api:2.7.0` still means Docker Hub's."""
    match = re.fullmatch(r"([^/:@]+)([:@].+)", image)
    if match is None or match.group(1) not in apps:
        return None
    return match.group(1), match.group(2)


def ecr_image(image: str, apps: Iterable[str], project: str, stack: str) -> EcrImage | None:
    """Where an app's image is in ECR: its own repository of the stack, or an ECR URI; None for any other
    registry, whose scans paved can't read."""
    own = own_repository(image, list(apps))
    if own is not None:
        return EcrImage(repository_name(project, stack, own[0]), own[1])
    match = _ECR_IMAGE.fullmatch(image)
    if match is None:
        return None
    account, region, repository, reference = match.groups()
    return EcrImage(repository, reference, account, region)


class Verdict(Enum):
    ADMITTED = "ok"
    BLOCKED = "BLOCKED"
    SKIPPED = "skip"


@dataclass(frozen=True)
class ImageCheck:
    apps: tuple[str, ...]
    image: str
    verdict: Verdict
    detail: str


def _at_or_above(counts: Mapping[str, int], threshold: str) -> dict[str, int]:
    ranked = SEVERITIES[: SEVERITIES.index(threshold) + 1]
    return {severity: counts[severity] for severity in ranked if counts.get(severity)}


def _counts_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{count} {severity}" for severity, count in counts.items() if count) or "no findings"


def _findings(client: Any, image: EcrImage) -> tuple[str, str, Mapping[str, int]]:
    """(scan status, its description, severity counts); status "NOT_FOUND" while ECR has no scan yet."""
    request: dict[str, Any] = {"repositoryName": image.repository, "imageId": image.image_id}
    if image.registry_id:
        request["registryId"] = image.registry_id
    try:
        found = client.describe_image_scan_findings(**request)
    except client.exceptions.ScanNotFoundException:
        return "NOT_FOUND", "no scan of the image yet", {}
    status = found.get("imageScanStatus", {})
    counts = found.get("imageScanFindings", {}).get("findingSeverityCounts", {})
    return status.get("status", ""), status.get("description", ""), counts


def platform_images(client: Any, image: EcrImage) -> list[tuple[str, EcrImage]]:
    """What ECR scans of `image`: each platform's image (`linux/arm64`, by digest) when it is an index,
    else the image itself (labelled ""). Attestations (buildx's provenance and SBOMs, platform
    unknown/unknown) are not images anything runs, and ECR does not scan them."""
    request: dict[str, Any] = {
        "repositoryName": image.repository,
        "imageIds": [image.image_id],
        "acceptedMediaTypes": [*sorted(INDEX_TYPES), *_IMAGE_TYPES],
    }
    if image.registry_id:
        request["registryId"] = image.registry_id
    found = client.batch_get_image(**request).get("images", [])
    if not found:
        return [("", image)]  # the scan lookup says what is missing
    manifest = json.loads(found[0].get("imageManifest") or "{}")
    if (found[0].get("imageManifestMediaType") or manifest.get("mediaType")) not in INDEX_TYPES:
        return [("", image)]
    platforms = []
    for child in manifest.get("manifests", []):
        platform = child.get("platform") or {}
        attestation = child.get("annotations", {}).get("vnd.docker.reference.type") == "attestation-manifest"
        if attestation or platform.get("os") == "unknown":
            continue
        label = "/".join(
            part
            for part in (platform.get("os"), platform.get("architecture"), platform.get("variant"))
            if part
        )
        platforms.append(
            (label, EcrImage(image.repository, "@" + child["digest"], image.registry_id, image.region))
        )
    return platforms


def check_image(
    client: Any,
    image: EcrImage,
    threshold: str,
    wait_seconds: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> tuple[Verdict, str]:
    """Wait up to `wait_seconds` for the scan of the image (of each platform's, for an index), then admit
    or block it: an index is admitted only when every platform's image is."""
    deadline = clock() + wait_seconds
    platforms = platform_images(client, image)
    if not platforms:
        return Verdict.BLOCKED, "an image index without a platform image: nothing was scanned"
    verdicts = [
        (label, _check_scan(client, one, threshold, deadline, wait_seconds, clock, sleep))
        for label, one in platforms
    ]
    verdict = Verdict.BLOCKED if any(v is Verdict.BLOCKED for _, (v, _) in verdicts) else Verdict.ADMITTED
    return verdict, "; ".join(f"{label}: {detail}" if label else detail for label, (_, detail) in verdicts)


def _check_scan(
    client: Any,
    image: EcrImage,
    threshold: str,
    deadline: float,
    wait_seconds: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> tuple[Verdict, str]:
    while True:
        status, description, counts = _findings(client, image)
        if status in SCANNED:
            blocking = _at_or_above(counts, threshold)
            unrated = f"; {counts[UNRATED]} {UNRATED}, not counted" if counts.get(UNRATED) else ""
            if blocking:
                return Verdict.BLOCKED, f"{_counts_text(blocking)} at or above {threshold}{unrated}"
            return Verdict.ADMITTED, f"scan {status}: {_counts_text(counts)}{unrated}"
        if status in NEVER_SCANNED:
            return Verdict.BLOCKED, f"scan {status}: {description or 'no findings to judge'}"
        if clock() >= deadline:
            waited = f"{wait_seconds / 60:g} minutes"
            return Verdict.BLOCKED, f"not scanned within {waited} (last status {status}: {description})"
        sleep(POLL_SECONDS)


def check_images(
    images: Mapping[str, str],
    *,
    project: str,
    stack: str,
    threshold: str,
    wait_seconds: float,
    client_for: Callable[[str | None], Any],
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> list[ImageCheck]:
    """Each distinct image of `images` (app -> image as the stack file gives it), checked once."""
    apps_by_image: dict[str, list[str]] = {}
    for app, image in images.items():
        apps_by_image.setdefault(image, []).append(app)
    checks = []
    for image, apps in apps_by_image.items():
        found = ecr_image(image, images, project, stack)
        if found is None:
            checks.append(ImageCheck(tuple(apps), image, Verdict.SKIPPED, "not in ECR: no scan to read"))
            continue
        try:
            verdict, detail = check_image(
                client_for(found.region), found, threshold, wait_seconds, clock, sleep
            )
        except ClientError as error:
            # No such repository or image, or no permission to read it: nothing admits it.
            verdict, detail = Verdict.BLOCKED, f"cannot read its scan: {error}"
            if error.response.get("Error", {}).get("Code") == "RepositoryNotFoundException":
                # A new app's repository is made by `up`, which this check gates: README says the order.
                detail += "; a new app's repository comes first: `pulumi up --target` it, then push"
        checks.append(ImageCheck(tuple(apps), str(found), verdict, detail))
    return checks


def table(checks: list[ImageCheck], threshold: str) -> Iterator[str]:
    apps_width = max((len(", ".join(check.apps)) for check in checks), default=0)
    image_width = max((len(check.image) for check in checks), default=0)
    for check in checks:
        apps = ", ".join(check.apps)
        yield f"{check.verdict.value:<7}  {apps:<{apps_width}}  {check.image:<{image_width}}  {check.detail}"
    blocked = sum(check.verdict is Verdict.BLOCKED for check in checks)
    yield f"paved images check: {len(checks)} images, {blocked} blocked (at or above {threshold})."
