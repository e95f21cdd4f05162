"""`paved assets publish` (paved/assets.py): a static build into the CDN's bucket through real boto3 clients
on the moto server. moto reports every invalidation COMPLETED at once, so nothing here waits on one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from paved.assets import (
    HASHED_CACHE,
    HISTORY,
    INVALIDATION_PATHS,
    MANIFESTS,
    PLAIN_CACHE,
    build_assets,
    content_type,
    is_hashed,
    plan_publish,
    publish,
)
from paved.cli import app
from tests.moto_resources import alb_distribution

REGION = "eu-west-1"
BUCKET = "paved-prod-cdn-assets"


@pytest.fixture
def cdn(aws: str) -> dict[str, Any]:
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=aws)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    cloudfront = boto3.client("cloudfront", region_name="us-east-1", endpoint_url=aws)
    return {"s3": s3, "cloudfront": cloudfront, "distribution": alb_distribution(cloudfront)}


def _build(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _release(cdn: dict[str, Any], build: Path, prefix: str = "_next/static") -> tuple[Any, str | None]:
    assets = build_assets(build, prefix)
    plan = plan_publish(cdn["s3"], BUCKET, assets)
    return plan, publish(cdn["s3"], cdn["cloudfront"], BUCKET, cdn["distribution"], assets, plan)


def _keys(s3: Any) -> set[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {item["Key"] for item in listed if not item["Key"].startswith(MANIFESTS)}


def _invalidated(cdn: dict[str, Any]) -> list[list[str]]:
    listed = cdn["cloudfront"].list_invalidations(DistributionId=cdn["distribution"])["InvalidationList"]
    batches = []
    for item in listed.get("Items", []):
        found = cdn["cloudfront"].get_invalidation(DistributionId=cdn["distribution"], Id=item["Id"])
        batches.append(sorted(found["Invalidation"]["InvalidationBatch"]["Paths"]["Items"]))
    return batches


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.js", "text/javascript; charset=utf-8"),
        ("a.css", "text/css; charset=utf-8"),
        ("a.js.map", "application/json; charset=utf-8"),
        ("font.woff2", "font/woff2"),
        ("logo.svg", "image/svg+xml; charset=utf-8"),
        ("photo.webp", "image/webp"),
        ("photo.png", "image/png"),
        ("blob", "application/octet-stream"),
    ],
)
def test_every_file_gets_its_content_type(name: str, expected: str) -> None:
    assert content_type(name) == expected


@pytest.mark.parametrize(
    ("key", "hashed"),
    [
        ("_next/static/chunks/app/page-6f4ab4c1b2a3c9d0.js", True),
        ("_next/static/Jx3fQ1z8kD9vL2mN4pR7s/_buildManifest.js", True),
        ("static/css/main.8d2ab1f3.css", True),
        ("static/favicon.ico", False),
        ("static/apple-touch-icon-precomposed.png", False),
    ],
)
def test_hashed_names_are_told_from_plain_ones(key: str, hashed: bool) -> None:
    assert is_hashed(key) is hashed


def test_a_first_publish_uploads_with_headers_and_records_the_release(
    cdn: dict[str, Any], tmp_path: Path
) -> None:
    build = _build(tmp_path / "b1", {"chunks/main-0a1b2c3d4e.js": "one", "css/app-99aa88bb.css": "two"})
    plan, invalidation = _release(cdn, build)
    s3 = cdn["s3"]
    assert _keys(s3) == {"_next/static/chunks/main-0a1b2c3d4e.js", "_next/static/css/app-99aa88bb.css"}
    head = s3.head_object(Bucket=BUCKET, Key="_next/static/chunks/main-0a1b2c3d4e.js")
    assert head["ContentType"] == "text/javascript; charset=utf-8"
    assert head["CacheControl"] == HASHED_CACHE
    # Nothing was there before, so no cache holds an old copy: nothing to invalidate.
    assert invalidation is None and _invalidated(cdn) == []
    history = json.loads(s3.get_object(Bucket=BUCKET, Key=HISTORY)["Body"].read())
    assert history == [plan.release]
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{MANIFESTS}{plan.release}.json")["Body"].read())
    assert manifest == sorted(_keys(s3))


def test_the_same_build_again_changes_nothing(cdn: dict[str, Any], tmp_path: Path) -> None:
    build = _build(tmp_path / "b1", {"chunks/main-0a1b2c3d4e.js": "one", "robots.txt": "plain"})
    first, _ = _release(cdn, build, prefix="static")
    again = plan_publish(cdn["s3"], BUCKET, build_assets(build, "static"))
    assert again.release == first.release
    assert (again.uploads, again.deletions, again.invalidations) == ([], [], [])
    assert len(again.unchanged) == 2


def test_the_previous_release_is_kept_and_the_one_before_it_deleted(
    cdn: dict[str, Any], tmp_path: Path
) -> None:
    s3 = cdn["s3"]
    s3.put_object(Bucket=BUCKET, Key="_next/static/not-ours.js", Body=b"someone else's")
    _release(cdn, _build(tmp_path / "b1", {"a-11111111.js": "1", "shared-33333333.js": "s"}))
    second, _ = _release(cdn, _build(tmp_path / "b2", {"b-22222222.js": "2", "shared-33333333.js": "s"}))
    assert second.deletions == []  # the first release is the previous one: old pods still serve its pages
    third, _ = _release(cdn, _build(tmp_path / "b3", {"c-44444444.js": "3", "shared-33333333.js": "s"}))
    assert third.deletions == ["_next/static/a-11111111.js"]
    assert _keys(s3) == {
        "_next/static/b-22222222.js",
        "_next/static/c-44444444.js",
        "_next/static/shared-33333333.js",
        "_next/static/not-ours.js",  # never uploaded by paved: never deleted
    }
    assert json.loads(s3.get_object(Bucket=BUCKET, Key=HISTORY)["Body"].read()) == [
        third.release,
        second.release,
    ]


def test_only_changed_plain_names_are_invalidated_and_many_become_one_wildcard(
    cdn: dict[str, Any], tmp_path: Path
) -> None:
    first = {"favicon.ico": "v1", "app-5a5a5a5a.js": "x", "robots.txt": "r"}
    _release(cdn, _build(tmp_path / "b1", first), prefix="static")
    changed = {**first, "favicon.ico": "v2", "app-5a5a5a5a.js": "y"}
    plan, invalidation = _release(cdn, _build(tmp_path / "b2", changed), prefix="static")
    # The hashed file changed too, but no URL of it was ever cached with other content.
    assert plan.invalidations == ["/static/favicon.ico"] and invalidation is not None
    head = cdn["s3"].head_object(Bucket=BUCKET, Key="static/favicon.ico")
    assert head["CacheControl"] == PLAIN_CACHE
    many = {f"page{n}.html": f"v{n}" for n in range(INVALIDATION_PATHS + 1)}
    _release(cdn, _build(tmp_path / "b3", many), prefix="static")
    plan, _ = _release(cdn, _build(tmp_path / "b4", {k: v + "!" for k, v in many.items()}), prefix="static")
    assert plan.invalidations == ["/static/*"]  # one path of the 1,000 free a month
    assert _invalidated(cdn) == [["/static/favicon.ico"], ["/static/*"]]


def test_a_run_stopped_after_its_uploads_still_invalidates_when_run_again(
    cdn: dict[str, Any], tmp_path: Path
) -> None:
    _release(cdn, _build(tmp_path / "b1", {"favicon.ico": "v1"}), prefix="static")
    build = _build(tmp_path / "b2", {"favicon.ico": "v2"})
    assets = build_assets(build, "static")
    plan = plan_publish(cdn["s3"], BUCKET, assets)

    class Stopped(Exception):
        pass

    class StoppedCloudFront:
        def create_invalidation(self, **_: Any) -> Any:
            raise Stopped

    with pytest.raises(Stopped):
        publish(cdn["s3"], StoppedCloudFront(), BUCKET, cdn["distribution"], assets, plan)
    rerun = plan_publish(cdn["s3"], BUCKET, assets)
    assert rerun.uploads == [] and rerun.invalidations == ["/static/favicon.ico"]
    publish(cdn["s3"], cdn["cloudfront"], BUCKET, cdn["distribution"], assets, rerun)
    assert _invalidated(cdn) == [["/static/favicon.ico"]]
    assert plan_publish(cdn["s3"], BUCKET, assets).invalidations == []


def test_the_command_says_its_plan_then_publishes(cdn: dict[str, Any], aws: str, tmp_path: Path) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {"region": REGION, "cdn_assets_bucket": BUCKET, "cdn_distribution_id": cdn["distribution"]}
        )
    )
    build = _build(tmp_path / "static", {"chunks/main-0a1b2c3d4e.js": "one"})
    command = [
        "assets",
        "publish",
        str(build),
        "--stack",
        "prod",
        "--outputs",
        str(outputs),
        "--endpoint-url",
        aws,
    ]
    declined = CliRunner().invoke(app, command, input="n\n")
    assert declined.exit_code == 0 and "upload 1 files (0 already there, unchanged)" in declined.output
    assert _keys(cdn["s3"]) == set()
    published = CliRunner().invoke(app, [*command, "--yes"])
    assert published.exit_code == 0, published.output
    assert _keys(cdn["s3"]) == {"_next/static/chunks/main-0a1b2c3d4e.js"}
    outputs.write_text(json.dumps({"region": REGION, "cdn_assets_bucket": None, "cdn_distribution_id": None}))
    no_cdn = CliRunner().invoke(app, [*command, "--yes"])
    assert no_cdn.exit_code == 2 and "has no CDN" in no_cdn.output


def test_publishing_an_earlier_release_again_invalidates_again(cdn: dict[str, Any], tmp_path: Path) -> None:
    first = _build(tmp_path / "b1", {"favicon.ico": "v1"})
    _release(cdn, first, prefix="static")
    _release(cdn, _build(tmp_path / "b2", {"favicon.ico": "v2"}), prefix="static")
    back, invalidation = _release(cdn, first, prefix="static")  # a rollback of the assets
    # CloudFront answers a CallerReference it has seen with that earlier invalidation, and the cache would
    # keep v2 (moto doesn't: the references are compared here).
    assert invalidation is not None and back.invalidations == ["/static/favicon.ico"]
    listed = cdn["cloudfront"].list_invalidations(DistributionId=cdn["distribution"])["InvalidationList"]
    references = {
        cdn["cloudfront"].get_invalidation(DistributionId=cdn["distribution"], Id=item["Id"])["Invalidation"][
            "InvalidationBatch"
        ]["CallerReference"]
        for item in listed["Items"]
    }
    assert len(references) == 2
