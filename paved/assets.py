"""`paved assets publish`: a static build into the CDN's assets bucket, before `up` rolls the pods, so that
no new page references a file that is not there yet.

Each publish records its release's keys in a manifest under `_paved/assets/` (no CloudFront behavior
routes there, so it is never served). A key is deleted only when paved uploaded it for a release that
is neither this one nor the one before: pages still served by the old pods during a rollout, and a
rollback, find their files. Hashed names are cached for a year (`immutable`); a changed file under a name
that is not hashed is invalidated, and past INVALIDATION_PATHS such paths one wildcard per top-level
prefix is sent instead (CloudFront counts a wildcard as one path, and 1,000 a month are free).
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/Invalidation.html
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFESTS = "_paved/assets/"
HISTORY = MANIFESTS + "history.json"
HASHED_CACHE = "public, max-age=31536000, immutable"
# A name that is not hashed may change under the same URL: browsers revalidate, CloudFront is invalidated.
PLAIN_CACHE = "public, max-age=60, must-revalidate"
INVALIDATION_PATHS = 20
# A content hash in a file or directory name: 8 or more hex digits. Everything under Next.js's
# `_next/static/` is content-addressed (a build id or hash in its path), and Next serves it as immutable.
_HASHED = re.compile(r"(?:^|[.\-_/~])[0-9a-f]{8,}(?:[.\-_/~]|$)")
_IMMUTABLE_PREFIXES = ("_next/static/",)
# S3 gives SSE-KMS objects (the assets bucket's) ETags that are not their MD5: the digest rides along.
MD5_METADATA = "paved-md5"
# Types mimetypes leaves out or gets wrong on some systems; S3 would serve them as binary/octet-stream.
_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".map": "application/json",
    ".json": "application/json",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".wasm": "application/wasm",
    ".txt": "text/plain",
    ".html": "text/html",
}
_CHARSET = ("text/", "application/json", "image/svg+xml")


def content_type(name: str) -> str:
    suffix = Path(name).suffix.lower()
    guessed = _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith(_CHARSET) else guessed


def is_hashed(key: str) -> bool:
    return key.startswith(_IMMUTABLE_PREFIXES) or _HASHED.search(key) is not None


@dataclass(frozen=True)
class Asset:
    key: str
    path: Path
    md5: str

    @property
    def cache_control(self) -> str:
        return HASHED_CACHE if is_hashed(self.key) else PLAIN_CACHE


def build_assets(directory: Path, prefix: str) -> list[Asset]:
    """Every file under `directory`, keyed `<prefix>/<path relative to directory>`."""
    base = prefix.strip("/")
    assets = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative = path.relative_to(directory).as_posix()
        key = f"{base}/{relative}" if base else relative
        assets.append(Asset(key, path, hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()))
    return assets


def release_id(assets: Sequence[Asset]) -> str:
    """The same build is the same release: a digest of its keys and contents."""
    digest = hashlib.sha256()
    for asset in assets:
        digest.update(f"{asset.key}\0{asset.md5}\n".encode())
    return digest.hexdigest()[:16]


class AssetsError(Exception):
    pass


@dataclass
class Plan:
    release: str
    reference: str = ""  # the invalidation's CallerReference
    uploads: list[Asset] = field(default_factory=list)
    unchanged: list[Asset] = field(default_factory=list)
    deletions: list[str] = field(default_factory=list)
    invalidations: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)  # the releases kept after this one, newest first

    def lines(self, bucket: str, distribution: str) -> Iterator[str]:
        yield f"Publish release {self.release} to s3://{bucket}:"
        yield f"  upload {len(self.uploads)} files ({len(self.unchanged)} already there, unchanged)"
        yield f"  delete {len(self.deletions)} files only releases before the previous one used"
        if self.invalidations:
            paths = ", ".join(self.invalidations[:5]) + (" …" if len(self.invalidations) > 5 else "")
            yield f"  invalidate {len(self.invalidations)} paths on distribution {distribution}: {paths}"
        else:
            yield "  invalidate nothing: no file under a name that is not hashed changed"


def _read_json(s3: Any, bucket: str, key: str, default: Any) -> Any:
    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return default


def _stored_md5(s3: Any, bucket: str, key: str) -> str | None:
    """The MD5 paved recorded on the object; "" for an object it did not upload, None when there is none."""
    try:
        return s3.head_object(Bucket=bucket, Key=key).get("Metadata", {}).get(MD5_METADATA, "")
    except s3.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def _pending(release: str) -> str:
    return f"{MANIFESTS}{release}.pending.json"


def _invalidation_paths(changed: Sequence[str]) -> list[str]:
    paths = sorted(f"/{key}" for key in changed)
    if len(paths) <= INVALIDATION_PATHS:
        return paths
    return sorted({f"/{key.split('/', 1)[0]}/*" if "/" in key else f"/{key}" for key in changed})


def plan_publish(s3: Any, bucket: str, assets: Sequence[Asset]) -> Plan:
    """What a publish of `assets` would do, read from the bucket; nothing is changed."""
    release = release_id(assets)
    plan = Plan(release)
    changed_plain: list[str] = []
    for asset in assets:
        stored = _stored_md5(s3, bucket, asset.key)
        if stored == asset.md5:
            plan.unchanged.append(asset)
            continue
        plan.uploads.append(asset)
        if stored is not None and not is_hashed(asset.key):
            changed_plain.append(asset.key)
    # A run stopped after its uploads finds them unchanged: the paths it meant to invalidate are recorded,
    # with the invalidation's reference, so that a rerun sends the same one rather than a second.
    pending = _read_json(s3, bucket, _pending(release), {})
    changed_plain += pending.get("paths", [])
    plan.invalidations = _invalidation_paths(sorted(set(changed_plain)))
    # Unique per publish: CloudFront answers a reference it has seen with that earlier invalidation, and
    # publishing an earlier release again must invalidate again.
    plan.reference = pending.get("reference") or f"paved-{release}-{uuid.uuid4().hex[:12]}"
    history = [r for r in _read_json(s3, bucket, HISTORY, []) if r != release]
    plan.history = [release, *history[:1]]
    kept: set[str] = {asset.key for asset in assets}
    for previous in history[:1]:
        kept |= set(_read_json(s3, bucket, f"{MANIFESTS}{previous}.json", []))
    for older in history[1:]:
        plan.deletions += [
            key for key in _read_json(s3, bucket, f"{MANIFESTS}{older}.json", []) if key not in kept
        ]
    plan.deletions = sorted(set(plan.deletions))
    return plan


def publish(
    s3: Any, cloudfront: Any, bucket: str, distribution: str, assets: Sequence[Asset], plan: Plan
) -> str | None:
    """Carry out `plan`: upload, record the release, invalidate, then delete; the invalidation's id."""
    changed = sorted(key.lstrip("/") for key in plan.invalidations)
    if changed:
        s3.put_object(
            Bucket=bucket,
            Key=_pending(plan.release),
            Body=json.dumps({"paths": changed, "reference": plan.reference}),
            ContentType="application/json",
        )
    for asset in plan.uploads:
        s3.put_object(
            Bucket=bucket,
            Key=asset.key,
            Body=asset.path.read_bytes(),
            ContentType=content_type(asset.key),
            CacheControl=asset.cache_control,
            Metadata={MD5_METADATA: asset.md5},
        )
    manifest = json.dumps(sorted(asset.key for asset in assets))
    s3.put_object(
        Bucket=bucket, Key=f"{MANIFESTS}{plan.release}.json", Body=manifest, ContentType="application/json"
    )
    # Recorded before anything is deleted: a run stopped after this point is finished by running it again.
    previous = _read_json(s3, bucket, HISTORY, [])
    s3.put_object(Bucket=bucket, Key=HISTORY, Body=json.dumps(plan.history), ContentType="application/json")
    invalidation = None
    if plan.invalidations:
        made = cloudfront.create_invalidation(
            DistributionId=distribution,
            InvalidationBatch={
                "Paths": {"Quantity": len(plan.invalidations), "Items": plan.invalidations},
                "CallerReference": plan.reference,
            },
        )
        invalidation = made["Invalidation"]["Id"]
        s3.delete_object(Bucket=bucket, Key=_pending(plan.release))
    for start in range(0, len(plan.deletions), 1000):  # DeleteObjects takes 1,000 keys a call
        batch = plan.deletions[start : start + 1000]
        deleted = s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True}
        )
        if deleted.get("Errors"):
            # Before the older manifests go: a rerun finds these keys again.
            first = deleted["Errors"][0]
            raise AssetsError(
                f"{len(deleted['Errors'])} files not deleted, e.g. {first['Key']}: {first['Message']}"
            )
    for dropped in [r for r in previous if r not in plan.history]:
        s3.delete_object(Bucket=bucket, Key=f"{MANIFESTS}{dropped}.json")
    return invalidation


def missing_outputs(outputs: Mapping[str, object]) -> list[str]:
    return [name for name in ("cdn_assets_bucket", "cdn_distribution_id", "region") if not outputs.get(name)]
