"""Alerts and the commands that answer them, in one place.

`kinds` and `keys` are the vocabulary (kinds, statuses, levels, what a rule asks for, one cause key per cause): pure,
imported by the rules and the store alike. `service` is the lifecycle over the store (raise once per cause, escalate,
acknowledge, resolve, notes); `apply` makes the table agree with what the worker's rules found; `queue` holds the
commands for stations and `sender` publishes them from their own process (`eldercare cloud sender`). Ingest, the
worker and the API call these; nothing else writes an alert or a command.
"""
