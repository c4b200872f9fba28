"""`eldercare cloud ingest`: MQTT (shared subscription, manual acks) into the store and the telemetry sink."""
