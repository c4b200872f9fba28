"""Telemetry sink: protocol messages as InfluxDB 2 points (one measurement per message type)."""
