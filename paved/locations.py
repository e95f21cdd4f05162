"""Where in the repository a policy violation on a resource is fixed, for reports that point at a file line.

In order:
1. the stack file (stacks/Pulumi.<stack>.yaml), at the config key that configures the resource: the key of
   the paved component that registered it or an ancestor of it (COMPONENT_KEYS; an app's Workload is
   `paved:apps[<i>]`), when the stack file sets that key;
2. the program line that registered the resource, as the engine records it (RecordedResource
   .source_position), else the line that registered its nearest ancestor there: lines inside a
   virtualenv or outside the project (the Stack, a provider made inside the SDK) are not the user's code;
3. the stack file's first line: a stack-level violation, a resource of no known origin, a key the stack
   file leaves to the preset with no registration line either.

Paths are relative to the repository root (the nearest directory above the project with a `.git`; the
project directory when there is none), as GitHub code scanning resolves them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from paved.recorder import RecordedResource, Recording
from paved.yaml_files import config_key_lines

# A paved component and the stack-file section that configures all it registers: the section is the Args
# it is built from in __main__.py. Components built from several sections or from none (Keys, the access
# log buckets, the database bootstrap, which serves the apps as much as the database) are left to their
# registration lines.
COMPONENT_KEYS: Mapping[str, str] = {
    "paved:database:Database": "paved:database",
    "paved:cache:Cache": "paved:cache",
    "paved:network:Network": "paved:network",
    "paved:observability:Alerting": "paved:alerts",
    "paved:certificates:DnsCertificate": "paved:domain",
    "paved:edge:LoadBalancer": "paved:edge",
    "paved:waf:WebAcl": "paved:edge",
    "paved:cdn:Cdn": "paved:edge",
    "paved:secrets:AppSecrets": "paved:secrets",
    "paved:cluster:Cluster": "paved:cluster",
    "paved:cluster:Controllers": "paved:cluster",
    "paved:backup:Backup": "paved:backup",
}
# Named after its app (components/workload.py), so its key is the app's entry in `paved:apps`.
WORKLOAD_TYPE = "paved:workload:Workload"
_SOURCE_SCHEME = "project"
_PACKAGE_DIRS = {"site-packages", "dist-packages"}


@dataclass(frozen=True)
class Location:
    uri: str  # relative to the repository root, "/"-separated
    line: int
    # Why here, for a reader of the report.
    reason: str
    config_key: str | None = None


def repository_root(directory: Path) -> Path:
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():
            return candidate
    return directory


class Locator:
    """Locations for the resources of one preview."""

    def __init__(
        self,
        project_dir: Path,
        stack_file: Path,
        recording: Recording | None,
        config: Mapping[str, str],
    ) -> None:
        self.project_dir = project_dir.resolve()
        self.root = repository_root(self.project_dir)
        self._stack_file = stack_file.resolve()
        self._stack_uri = self._uri(self._stack_file)
        self._key_lines = config_key_lines(self._stack_file)
        self._by_urn = recording.by_urn() if recording is not None else {}
        self._app_keys = _app_keys(config.get("paved:apps"))

    def _uri(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def locate(self, urn: str) -> Location:
        resource = self._by_urn.get(urn)
        if resource is None:
            reason = "the stack file: a stack-level violation" if not urn else "the stack file"
            return Location(self._stack_uri, 1, reason)
        ancestors = self._ancestry(resource)
        for ancestor in ancestors:
            key = self._config_key(ancestor)
            if key is not None and key in self._key_lines:
                return Location(self._stack_uri, self._key_lines[key], f"configured by {key}", key)
        for ancestor in ancestors:
            found = self._source_line(ancestor.source_position)
            if found is not None:
                path, line = found
                whose = "registered" if ancestor is resource else f"its parent '{ancestor.name}' registered"
                return Location(self._uri(path), line, f"{whose} here")
        return Location(self._stack_uri, 1, "the stack file: no registration line in the project")

    def _ancestry(self, resource: RecordedResource) -> list[RecordedResource]:
        chain, seen = [resource], {resource.urn}
        while (parent := self._by_urn.get(chain[-1].parent)) is not None and parent.urn not in seen:
            chain.append(parent)
            seen.add(parent.urn)
        return chain

    def _config_key(self, resource: RecordedResource) -> str | None:
        if resource.type == WORKLOAD_TYPE:
            return self._app_keys.get(resource.name)
        return COMPONENT_KEYS.get(resource.type)

    def _source_line(self, position: str) -> tuple[Path, int] | None:
        parsed = urlparse(position)
        if parsed.scheme != _SOURCE_SCHEME or not parsed.fragment:
            return None
        relative = PurePosixPath(unquote(parsed.path).lstrip("/"))
        if ".." in relative.parts or _PACKAGE_DIRS & set(relative.parts):
            return None
        path = self.project_dir / relative
        line = parsed.fragment.split(",")[0]
        if not path.is_file() or not line.isdigit():
            return None
        return path, int(line)


def _app_keys(apps_json: str | None) -> dict[str, str]:
    """App name -> `paved:apps[<i>]`, from the stack's `paved:apps` (JSON, as the program receives it)."""
    try:
        apps = json.loads(apps_json) if apps_json else []
    except ValueError:
        return {}
    if not isinstance(apps, list):
        return {}
    return {
        app["name"]: f"paved:apps[{index}]"
        for index, app in enumerate(apps)
        if isinstance(app, dict) and isinstance(app.get("name"), str)
    }
