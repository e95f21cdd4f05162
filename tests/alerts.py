"""Which alarms notify: every metric alarm does, except the windows of a burn-rate alert, which its composite
alarm names in its rule and which notifies instead (components/observability.py `burn_rate_alert`)."""

from __future__ import annotations

from paved.recorder import RecordedResource, Recording

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE = "aws:cloudwatch/compositeAlarm:CompositeAlarm"


def window_alarms(recording: Recording) -> list[RecordedResource]:
    rules = " ".join(composite.inputs["alarmRule"] for composite in recording.of_type(COMPOSITE))
    return [alarm for alarm in recording.of_type(ALARM) if f'ALARM("{alarm.inputs["name"]}")' in rules]


def notifying_alarms(recording: Recording) -> list[RecordedResource]:
    """The metric alarms that notify themselves, and the composite alarms."""
    windows = {alarm.urn for alarm in window_alarms(recording)}
    return [alarm for alarm in recording.of_type(ALARM) if alarm.urn not in windows] + recording.of_type(
        COMPOSITE
    )
