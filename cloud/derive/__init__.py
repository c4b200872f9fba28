"""Derivation runners: the offline `cloud derive` for audits and the `cloud worker` over the store."""
