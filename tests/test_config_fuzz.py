"""A few hundred machine-mutated stack files, the same every run: accepted, or rejected with key paths."""

from tests.config_fuzz import Verdict, run

CASES = 300
SEED = 2026


def _described(verdict: Verdict) -> str:
    return f"case {verdict.case.number} ({verdict.case.stack}): {verdict.detail}"


def test_every_mutated_stack_is_accepted_or_rejected_with_key_paths() -> None:
    verdicts = run(CASES, SEED)
    crashed = [_described(verdict) for verdict in verdicts if verdict.outcome == "crashed"]
    assert crashed == []
    outcomes = {verdict.outcome for verdict in verdicts}
    assert outcomes == {"accepted", "rejected"}, "the mutations must exercise both outcomes"
    assert any(verdict.case.text is not None for verdict in verdicts), "and mutate the text too"
