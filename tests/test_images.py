"""`paved images check` (paved/images.py): ECR's scan findings admit or block a release, read through a real
boto3 client from the moto server, whose scan results the tests set through moto's own API."""

from __future__ import annotations

import contextlib
import hashlib
import json
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from paved.cli import app
from paved.images import (
    POLL_SECONDS,
    EcrImage,
    Verdict,
    check_image,
    check_images,
    ecr_image,
    table,
)
from tests.clock import Clock
from tests.stack_config import project_copy

ROOT = Path(__file__).resolve().parent.parent
REGION = "eu-west-1"  # the shipped stacks' aws:region
DIGEST = "sha256:" + "c" * 64


def _manifest(tag: str) -> str:
    """An image manifest of its own per tag: ECR scans one image once a day."""
    config = {
        "mediaType": "application/vnd.docker.container.image.v1+json",
        "size": 1,
        "digest": "sha256:" + hashlib.sha256(tag.encode()).hexdigest(),
    }
    media_type = "application/vnd.docker.distribution.manifest.v2+json"
    return json.dumps({"schemaVersion": 2, "mediaType": media_type, "config": config, "layers": []})


def _ecr(endpoint: str) -> Any:
    return boto3.client("ecr", region_name=REGION, endpoint_url=endpoint)


def _pushed(ecr: Any, repository: str, tag: str, *, scanned: bool = True) -> None:
    """An image in the repository (created when missing), scanned unless told otherwise."""
    with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
        ecr.create_repository(repositoryName=repository)
    ecr.put_image(repositoryName=repository, imageManifest=_manifest(tag), imageTag=tag)
    if scanned:
        ecr.start_image_scan(repositoryName=repository, imageId={"imageTag": tag})


def _scan_reports(endpoint: str, repository: str, tag: str, status: str, counts: dict[str, int]) -> None:
    """What moto's DescribeImageScanFindings answers for this image (a tag, or `@<digest>`) from now on
    (moto's API for it)."""
    image_id = {"imageDigest": tag[1:]} if tag.startswith("@") else {"imageTag": tag}
    result = {
        "repositoryName": repository,
        "imageId": image_id,
        "imageScanStatus": {"status": status, "description": f"status {status}"},
        "imageScanFindings": {"findingSeverityCounts": counts},
    }
    body = json.dumps({"results": [result], "region": REGION}).encode()
    request = urllib.request.Request(
        f"{endpoint}/moto-api/static/ecr/scan-finding-results", data=body, method="POST"
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 201


def _check(endpoint: str, repository: str, tag: str, threshold: str, wait_seconds: float = 0):
    clock = Clock()
    verdict = check_image(
        _ecr(endpoint), EcrImage(repository, f":{tag}"), threshold, wait_seconds, clock, clock.sleep
    )
    return verdict, clock.seconds


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("api:2.7.0", EcrImage("paved-prod/api", ":2.7.0")),
        (
            "210987654321.dkr.ecr.us-east-1.amazonaws.com/shared/base@" + DIGEST,
            EcrImage("shared/base", "@" + DIGEST, "210987654321", "us-east-1"),
        ),
        ("ghcr.io/acme/api:2.7.0", None),
        ("docker.io/library/api:2.7.0", None),
    ],
)
def test_an_apps_image_is_found_in_its_own_repository_or_its_ecr_uri(image: str, expected: Any) -> None:
    assert ecr_image(image, ["api", "web"], "paved", "prod") == expected


def test_findings_below_the_threshold_admit_the_image(aws: str) -> None:
    _pushed(_ecr(aws), "paved-prod/api", "2.7.0")
    _scan_reports(aws, "paved-prod/api", "2.7.0", "COMPLETE", {"MEDIUM": 3, "LOW": 9})
    (verdict, detail), _ = _check(aws, "paved-prod/api", "2.7.0", "HIGH")
    assert verdict is Verdict.ADMITTED
    assert detail == "scan COMPLETE: 3 MEDIUM, 9 LOW"


def test_a_finding_at_the_threshold_blocks_the_image(aws: str) -> None:
    _pushed(_ecr(aws), "paved-prod/api", "2.7.1")
    _scan_reports(aws, "paved-prod/api", "2.7.1", "COMPLETE", {"CRITICAL": 1, "HIGH": 2, "MEDIUM": 3})
    (verdict, detail), _ = _check(aws, "paved-prod/api", "2.7.1", "HIGH")
    assert (verdict, detail) == (Verdict.BLOCKED, "1 CRITICAL, 2 HIGH at or above HIGH")


def test_enhanced_scanning_reports_active_and_is_judged_without_waiting(aws: str) -> None:
    _pushed(_ecr(aws), "paved-prod/web", "1.4.2")
    _scan_reports(aws, "paved-prod/web", "1.4.2", "ACTIVE", {"HIGH": 1, "UNTRIAGED": 4})
    (verdict, detail), waited = _check(aws, "paved-prod/web", "1.4.2", "CRITICAL", wait_seconds=600)
    assert verdict is Verdict.ADMITTED and waited == 0
    assert detail == "scan ACTIVE: 1 HIGH, 4 UNTRIAGED; 4 UNTRIAGED, not counted"


def test_a_scan_still_running_is_waited_for_then_blocks(aws: str) -> None:
    _pushed(_ecr(aws), "paved-prod/worker", "2.7.0")
    _scan_reports(aws, "paved-prod/worker", "2.7.0", "IN_PROGRESS", {})
    (verdict, detail), waited = _check(aws, "paved-prod/worker", "2.7.0", "HIGH", wait_seconds=120)
    assert verdict is Verdict.BLOCKED
    assert detail.startswith("not scanned within 2 minutes (last status IN_PROGRESS")
    assert 120 <= waited < 120 + POLL_SECONDS


def test_an_image_never_scanned_or_failed_is_blocked(aws: str) -> None:
    ecr = _ecr(aws)
    _pushed(ecr, "paved-prod/api", "3.0.0", scanned=False)
    (verdict, detail), _ = _check(aws, "paved-prod/api", "3.0.0", "HIGH")
    assert verdict is Verdict.BLOCKED and "last status NOT_FOUND: no scan of the image yet" in detail
    _pushed(ecr, "paved-prod/api", "3.0.1")
    _scan_reports(aws, "paved-prod/api", "3.0.1", "UNSUPPORTED_IMAGE", {})
    (verdict, detail), _ = _check(aws, "paved-prod/api", "3.0.1", "HIGH", wait_seconds=600)
    assert (verdict, detail) == (Verdict.BLOCKED, "scan UNSUPPORTED_IMAGE: status UNSUPPORTED_IMAGE")


def _pushed_index(ecr: Any, repository: str, tag: str, platforms: list[str]) -> dict[str, str]:
    """A multi-platform image as buildx pushes it: one image per platform, each scanned, an attestation
    manifest (platform unknown/unknown, never scanned), and the OCI index the tag names. The platforms'
    digests, by platform."""
    with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
        ecr.create_repository(repositoryName=repository)
    oci_manifest = "application/vnd.oci.image.manifest.v1+json"
    digests, children = {}, []
    for platform in [*platforms, "unknown/unknown"]:
        digest = "sha256:" + hashlib.sha256(f"{tag} {platform}".encode()).hexdigest()
        ecr.put_image(
            repositoryName=repository,
            imageManifest=_manifest(f"{tag} {platform}"),
            imageDigest=digest,
            imageTag=f"{tag}-{platform.replace('/', '-')}",
        )
        os, architecture = platform.split("/")
        child = {
            "mediaType": oci_manifest,
            "digest": digest,
            "size": 1,
            "platform": {"os": os, "architecture": architecture},
        }
        if platform == "unknown/unknown":
            child["annotations"] = {"vnd.docker.reference.type": "attestation-manifest"}
        else:
            ecr.start_image_scan(repositoryName=repository, imageId={"imageDigest": digest})
            digests[platform] = digest
        children.append(child)
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": children,
    }
    ecr.put_image(repositoryName=repository, imageManifest=json.dumps(index), imageTag=tag)
    return digests


def test_a_multi_platform_image_is_judged_by_each_platforms_scan(aws: str) -> None:
    ecr = _ecr(aws)
    digests = _pushed_index(ecr, "paved-prod/api", "4.0.0", ["linux/amd64", "linux/arm64"])
    _scan_reports(aws, "paved-prod/api", "@" + digests["linux/amd64"], "COMPLETE", {"MEDIUM": 2})
    _scan_reports(aws, "paved-prod/api", "@" + digests["linux/arm64"], "COMPLETE", {"HIGH": 1})
    (verdict, detail), _ = _check(aws, "paved-prod/api", "4.0.0", "CRITICAL")
    # The attestation is neither scanned nor waited for; the index's own scan is never asked.
    assert (verdict, detail) == (
        Verdict.ADMITTED,
        "linux/amd64: scan COMPLETE: 2 MEDIUM; linux/arm64: scan COMPLETE: 1 HIGH",
    )
    # One platform's finding at the threshold blocks the release, whatever the others say.
    (verdict, detail), _ = _check(aws, "paved-prod/api", "4.0.0", "HIGH")
    assert (verdict, detail) == (
        Verdict.BLOCKED,
        "linux/amd64: scan COMPLETE: 2 MEDIUM; linux/arm64: 1 HIGH at or above HIGH",
    )


def test_each_image_is_checked_once_and_a_missing_one_blocks(aws: str) -> None:
    ecr = _ecr(aws)
    _pushed(ecr, "paved-prod/api", "2.7.0")
    _scan_reports(aws, "paved-prod/api", "2.7.0", "COMPLETE", {})
    clock = Clock()
    checks = check_images(
        {"api": "api:2.7.0", "worker": "api:2.7.0", "web": "web:9.9.9", "proxy": "nginx:1.27"},
        project="paved",
        stack="prod",
        threshold="HIGH",
        wait_seconds=0,
        client_for=lambda region: ecr,
        clock=clock,
        sleep=clock.sleep,
    )
    by_apps = {check.apps: check for check in checks}
    assert by_apps[("api", "worker")].verdict is Verdict.ADMITTED
    assert by_apps[("web",)].verdict is Verdict.BLOCKED
    assert "RepositoryNotFoundException" in by_apps[("web",)].detail
    assert "`pulumi up --target` it, then push" in by_apps[("web",)].detail
    assert by_apps[("proxy",)].verdict is Verdict.SKIPPED
    assert list(table(checks, "HIGH"))[-1] == "paved images check: 3 images, 1 blocked (at or above HIGH)."


def test_the_command_reads_the_stack_file_and_exits_1_on_a_blocked_image(aws: str, tmp_path: Path) -> None:
    ecr = _ecr(aws)
    for app_name, tag in (("web", "1.4.2"), ("api", "2.7.0"), ("worker", "2.7.0")):
        _pushed(ecr, f"paved-prod/{app_name}", tag)
        _scan_reports(aws, f"paved-prod/{app_name}", tag, "COMPLETE", {"MEDIUM": 1})
    command = [
        "images",
        "check",
        "--stack",
        "prod",
        "-C",
        str(ROOT),
        "--endpoint-url",
        aws,
        "--wait-minutes",
        "0",
    ]
    admitted = CliRunner().invoke(app, command)
    assert admitted.exit_code == 0, admitted.output
    assert "paved images check: 3 images, 0 blocked (at or above HIGH)." in admitted.output
    # prod blocks HIGH (paved:registry.blockSeverity); a new release of api with one is refused.
    stack_file = (ROOT / "stacks" / "Pulumi.prod.yaml").read_text().replace("api:2.7.0", "api:2.8.0")
    project = project_copy(tmp_path, stack_file)
    _pushed(ecr, "paved-prod/api", "2.8.0")
    _scan_reports(aws, "paved-prod/api", "2.8.0", "COMPLETE", {"HIGH": 1})
    blocked = CliRunner().invoke(app, [*command[:5], str(project), *command[6:]])
    assert blocked.exit_code == 1, blocked.output
    assert "BLOCKED  api" in blocked.output and "1 HIGH at or above HIGH" in blocked.output
