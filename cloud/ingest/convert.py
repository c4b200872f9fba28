"""Moved to `cloud.convert` (below ingest and telemetry, which both use it); kept for the imports of the ingest writer
and the offline derivation until they name `cloud.convert`."""

from cloud.convert import AGENT_NAMESPACE, Accepted, Rejected, fold_devices

__all__ = ["AGENT_NAMESPACE", "Accepted", "Rejected", "fold_devices"]
