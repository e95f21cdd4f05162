"""`paved preview --junit`: a preview's policy checks as JUnit XML (Apache Ant's format, the one CI servers
read), written with junitparser and valid against Windy Road's XSD of that format, as the ub-test-reports
package ships it (the tests read it from there: tests/report_schemas.py).

JUnit XML has no single standard. Ant's is the strict original; what Jenkins (its junit plugin, and the
xunit plugin's junit-10.xsd), GitLab (`artifacts:reports:junit`) and the GitHub Actions report readers
accept is looser (junit-10.xsd, for one, allows several <failure>s a testcase, a `skipped` count and
leaves most attributes optional), so a document valid against Ant's XSD reads the same in all of them.
The writer holds itself to it: one <failure> or <error> a testcase, every attribute the XSD requires
(`classname` and `time` on a testcase; `hostname`, `timestamp`, the counts and, inside <testsuites>,
`package` and `id` on a suite) and no `skipped` count, which this version of the XSD does not have
(paved skips nothing, and a reader takes a missing count as none).

One testsuite per policy pack, one testcase per policy and resource it applies to, failed by its
violations. What applies is what the CLI counts in its policy summaries (paved.analyzer.PolicySummary):
each resource policy for each resource it judged, less those the pack said do not apply (paved's pack says
so for the types a policy does not judge) and the disabled ones; each stack policy once for the stack, or
once per resource it reported a violation on. The Analyzer protocol does not tell which resource types a
policy judges, so a pack that says nothing makes every resource policy apply to every resource.

The XSD allows one <failure> a testcase: several violations of one policy on one resource share it.
A preview that failed before its resources were judged is one testcase with an <error>.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from junitparser import Attr, Error, Failure, IntAttr, JUnitXml, SystemErr, SystemOut, TestCase, TestSuite

from paved.analyzer import PackResult, PolicySummary, PolicyViolation
from paved.preview import PreviewResult

STACK_CASE = "stack"
# Characters XML 1.0 cannot carry at all, escaped or not (a pack's log may hold terminal colour codes).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


class _AggregatedSuite(TestSuite):
    """A <testsuite> inside <testsuites>, where the XSD requires `package` and `id`."""

    package = Attr()
    id = IntAttr()

    def update_statistics(self) -> None:
        super().update_statistics()
        # The XSD has no `skipped` count; junitparser writes one (0: paved writes no <skipped>).
        self._elem.attrib.pop("skipped", None)


def _case(policy: str, name: str, violations: Sequence[PolicyViolation]) -> TestCase:
    case = TestCase(name=_xml(name), classname=_xml(policy), time=0.0)
    if violations:
        level = "mandatory" if any(v.level == "mandatory" for v in violations) else violations[0].level
        message = violations[0].message if len(violations) == 1 else f"{len(violations)} violations"
        failure = Failure(_xml(message), level)
        failure.text = _xml(
            "\n\n".join(
                f"[{v.level}{f', {v.severity}' if v.severity else ''}] {v.message}" for v in violations
            )
        )
        case.result = [failure]
    return case


def _resource_cases(summary: PolicySummary, order: Sequence[str]) -> Iterable[TestCase]:
    applies = set(summary.passed) | set(summary.failed)
    for policy in order:
        if policy in applies:
            yield _case(policy, summary.urn, [v for v in summary.violations if v.policy == policy])


def _stack_cases(summary: PolicySummary, order: Sequence[str]) -> Iterable[TestCase]:
    for policy in order:
        if policy in summary.passed:
            yield _case(policy, STACK_CASE, [])
        elif policy in summary.failed:
            by_urn: dict[str, list[PolicyViolation]] = {}
            for violation in summary.violations:
                if violation.policy == policy:
                    by_urn.setdefault(violation.urn, []).append(violation)
            for urn, violations in by_urn.items():
                yield _case(policy, urn or STACK_CASE, violations)


def _suite(name: str, index: int, properties: dict[str, str], timestamp: str) -> _AggregatedSuite:
    suite = _AggregatedSuite(name)
    suite.package = name
    suite.id = index
    suite.timestamp = timestamp
    suite.hostname = socket.gethostname() or "localhost"
    # The XSD wants <properties> first.
    for key, value in properties.items():
        suite.add_property(key, value)
    return suite


def _close(suite: TestSuite, cases: list[TestCase], out: str) -> None:
    suite.add_testcases(cases)  # one statistics pass; add_testcase would make one per case
    # Required by the XSD, after the testcases.
    suite.append(SystemOut(_xml(out)))
    suite.append(SystemErr(""))


def _pack_suite(pack: PackResult, index: int, stack: str, timestamp: str) -> _AggregatedSuite:
    suite = _suite(pack.name, index, {"stack": stack, "policyPackVersion": pack.version}, timestamp)
    order = [policy.name for policy in pack.policies]
    cases: list[TestCase] = []
    for summary in pack.summaries:
        cases += _stack_cases(summary, order) if not summary.urn else _resource_cases(summary, order)
    _close(suite, cases, pack.log)
    return suite


def junit_document(result: PreviewResult) -> JUnitXml:
    timestamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    document = JUnitXml()
    suites = [_pack_suite(pack, index, result.stack, timestamp) for index, pack in enumerate(result.packs)]
    if result.failure:
        suite = _suite("paved preview", len(suites), {"stack": result.stack}, timestamp)
        case = TestCase(name=result.stack, classname="preview", time=result.duration_seconds)
        kind = "configuration" if result.config_failure else "program"
        error = Error(_xml(result.failure.splitlines()[0]), kind)
        error.text = _xml(result.failure)
        case.result = [error]
        _close(suite, [case], "")
        suites.append(suite)
    # Added as elements, not with add_testsuite: it would merge suites that share a name, and the root's
    # statistics attributes (update_statistics) are not allowed by the XSD.
    for suite in suites:
        document.append(suite)
    return document


def write_junit(path: Path, result: PreviewResult) -> None:
    junit_document(result).write(str(path))
