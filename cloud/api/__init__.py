"""The HTTP API and the dashboard it serves (`eldercare cloud api`)."""
