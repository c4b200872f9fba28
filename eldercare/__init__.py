"""The `eldercare` command line: one entry point for the edge agent, the cloud, simulators and the demo."""
