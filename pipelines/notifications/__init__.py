"""Reminders to clinicians, weekly digests to clinic managers and the organisation, alerts to operators
(docs/notifications.md). Plain logic: the Dagster asset and sensor are in assets/notify.py."""
