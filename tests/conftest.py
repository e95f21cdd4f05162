"""Hypothesis profiles: a quick default for every check run, a thorough one on demand.

`HYPOTHESIS_PROFILE=thorough bash scripts/check` (or pytest) explores ten times as many examples;
the default keeps the whole suite inside CI's time budget as the policy pack grows.
"""

import copy
import fcntl
import os
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from paved_policies.wiring.snapshot import Snapshot
from paved_policies.wiring.verdicts import FlowResult

import paved.analyzer as analyzer
from paved.analyzer import PackResult, StackContext, analyze_with_pack
from paved.lineage import snapshot_of
from paved.preview import PreviewResult, prove_wiring
from paved.program import load_project, load_stack_config, run_project
from paved.recorder import Recording
from tests.stack_config import MAILER, REPORTS, shipped, with_apps

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("default", max_examples=40, **_COMMON)
settings.register_profile("thorough", max_examples=400, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def _made_once(shared: Path | None, name: str, make: Callable[[], T]) -> T:
    """`make()`, run by whichever xdist worker asks first and read back by the others from a pickle:
    recordings and pack verdicts are plain data (prod's recording loads in 13 ms, against ~5 s to make)."""
    if shared is None:
        return make()
    made = shared / f"{name}.pickle"
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the others wait for the one making it, then read it
        if made.exists():
            return pickle.loads(made.read_bytes())
        value = make()
        made.write_bytes(pickle.dumps(value))
        return value


@pytest.fixture(scope="session")
def xdist_shared(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path | None:
    """The directory all xdist workers of a run share (every worker's base temp is one of its children);
    None without xdist."""
    return tmp_path_factory.getbasetemp().parent if worker_id != "master" else None


@pytest.fixture(scope="session")
def shipped_recordings(xdist_shared: Path | None) -> Callable[[str], Recording]:
    """The real program recorded once per stack for the whole run, across xdist's workers too; tests only
    read recordings."""
    cache: dict[str, Recording] = {}

    def get(stack: str) -> Recording:
        if stack not in cache:
            cache[stack] = _made_once(xdist_shared, f"recording-{stack}", lambda: run_project(ROOT, stack))
        return cache[stack]

    return get


@pytest.fixture(scope="session")
def shipped_snapshots(shipped_recordings: Callable[[str], Recording]) -> Callable[[str], Snapshot]:
    """The wiring proof's view of each shipped stack (a fresh Snapshot per call: tests may mutate it)."""

    def get(stack: str) -> Snapshot:
        config = load_stack_config(load_project(ROOT), stack).values
        # The snapshot shares its inputs with the session's recording: a copy keeps mutations local.
        return copy.deepcopy(snapshot_of(shipped_recordings(stack), config))

    return get


def shipped_context(stack: str) -> StackContext:
    """The stack as `paved preview` hands it to packs (paved/preview.py), config from Pulumi.<stack>.yaml."""
    project = load_project(ROOT)
    config = load_stack_config(project, stack)
    return StackContext(
        project=project.name,
        stack=stack,
        organization="organization",
        config=config.values,
        secret_keys=config.secret_keys,
    )


class PackVerdict(NamedTuple):
    result: PackResult
    # (policy, URN) pairs the pack said were not applicable ("" for a stack policy); PackResult keeps the
    # diagnostics only, so the responses are read on their way in.
    not_applicable: set[tuple[str, str]]


@pytest.fixture(scope="session")
def shipped_pack_verdicts(
    shipped_recordings: Callable[[str], Recording], xdist_shared: Path | None
) -> Callable[[str], PackVerdict]:
    """The shipped pack's verdict on each stack's recording, judged once for the run (a pack process)."""
    cache: dict[str, PackVerdict] = {}

    def judge(stack: str) -> PackVerdict:
        not_applicable: set[tuple[str, str]] = set()
        collect = analyzer._violations

        def read(response: Any, result: PackResult, default_urn: str) -> Any:
            not_applicable.update((item.policy_name, default_urn) for item in response.not_applicable)
            return collect(response, result, default_urn)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(analyzer, "_violations", read)
            result = analyze_with_pack(ROOT / "policies", shipped_recordings(stack), shipped_context(stack))
        return PackVerdict(result, not_applicable)

    def get(stack: str) -> PackVerdict:
        if stack not in cache:
            cache[stack] = _made_once(xdist_shared, f"pack-verdict-{stack}", lambda: judge(stack))
        return cache[stack]

    return get


def _preview(
    context: StackContext,
    recording: Recording,
    packs: list[PackResult],
    flows: list[FlowResult] | None = None,
) -> PreviewResult:
    """What `paved preview` reports for a shipped stack whose recording and pack verdicts are at hand."""
    return PreviewResult(
        project=context.project,
        stack=context.stack,
        config=context.config,
        recording=recording,
        secret_keys=context.secret_keys,
        packs=packs,
        flows=flows or [],
    )


@pytest.fixture(scope="session")
def prod_preview(
    shipped_recordings: Callable[[str], Recording], shipped_pack_verdicts: Callable[[str], PackVerdict]
) -> PreviewResult:
    """What `paved preview --stack prod --policy-pack policies` reports, from the session's recording and pack
    verdict, with the wiring proof: the program is not run again."""
    context = shipped_context("prod")
    recording = shipped_recordings("prod")
    packs = [shipped_pack_verdicts("prod").result]
    return _preview(context, recording, packs, flows=prove_wiring(recording, context.config))


# A tag none of the stack's resources carries: every taggable AWS resource violates aws-required-tags.
MISSING_TAG = "owner"


@pytest.fixture(scope="session")
def judged_prod(shipped_recordings: Callable[[str], Recording]) -> PreviewResult:
    """The prod stack judged by paved's pack with a tag it lacks required, as `paved preview --policy-pack
    policies` would have it: mandatory violations on resources of every config section, for the reports'
    tests (test_sarif.py, test_junit.py). The session's recording is judged again, not re-run."""
    context = shipped_context("prod")
    recording = shipped_recordings("prod")
    required = {"aws-required-tags": {"requiredTags": ["environment", MISSING_TAG]}}
    return _preview(
        context, recording, [analyze_with_pack(ROOT / "policies", recording, context, [required])]
    )


@pytest.fixture(scope="session")
def bootstrap(xdist_shared: Path | None) -> Recording:
    """The bootstrap program's shipped stack (bootstrap/stacks/Pulumi.main.yaml), recorded once a run."""
    return _made_once(xdist_shared, "recording-bootstrap", lambda: run_project(ROOT / "bootstrap", "main"))


@pytest.fixture(scope="session")
def prod_with_kinds(xdist_shared: Path | None) -> Recording:
    """prod with the app kinds it lacks (tests/stack_config.py: REPORTS, a cronjob; MAILER, a worker without
    a port), recorded once a run for the modules that read them."""
    raw = with_apps(shipped("prod"), REPORTS, MAILER)
    return _made_once(xdist_shared, "recording-prod-kinds", lambda: run_project(ROOT, "prod", raw))


@pytest.fixture(scope="module")
def prod(shipped_recordings: Callable[[str], Recording]) -> Recording:
    return shipped_recordings("prod")


@pytest.fixture(scope="module")
def staging(shipped_recordings: Callable[[str], Recording]) -> Recording:
    return shipped_recordings("staging")


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto server on 127.0.0.1 (a free port) for the session: its endpoint URL, for real boto3 clients."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # Warm up once: the server's RDS backend and boto3's RDS model load here, not in the first test.
    import boto3

    fake = {"aws_access_key_id": "x", "aws_secret_access_key": "x"}
    boto3.client("rds", region_name="us-east-1", endpoint_url=endpoint, **fake).describe_db_instances()
    try:
        yield endpoint
    finally:
        server.stop()


def _emptied(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    import urllib.request

    unset = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION")
    for name in unset:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")).close()
    return moto_server


@pytest.fixture
def aws(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The moto server, emptied, with fake credentials and no profile or region from the machine."""
    return _emptied(moto_server, monkeypatch)


@pytest.fixture(scope="module")
def aws_for_module(moto_server: str) -> Iterator[str]:
    """`aws` emptied once for a whole module, whose tests then share what they create (moto re-creates
    each region's default VPC after a reset, a tenth of a second or more a test)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield _emptied(moto_server, monkeypatch)
