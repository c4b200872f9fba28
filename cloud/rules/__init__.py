"""Pure derivation rules: calendar, timeline, compliance, visitor counts, spot checks, veto, alerts. No I/O."""
