"""The `eldercare edge`, `eldercare cloud` and `eldercare simulate` groups: which module holds each subcommand.

The command tree is the composition's: the layers below provide click commands and know nothing of the tree, so the
edge never imports the cloud's commands nor the cloud the edge's. Each subcommand is imported only when used, so a
Pi without the cloud extra still works.
"""

import click

from eldercare.lazy import LazyGroup

EDGE_COMMANDS = {
    "check-config": ("edge.commands:check_config", "Validate station config files without touching hardware."),
    "run": ("edge.commands:run", "Run the station agent."),
    "enrol": ("edge.face.commands:enrol", "Enrol a person's face (with consent) in the station gallery."),
    "forget": ("edge.face.commands:forget", "Delete a person from the station gallery."),
    "gallery": ("edge.face.commands:gallery", "List enrolled ids and roles (never encodings)."),
    "camera-test": ("edge.face.camera_test:camera_test", "Run the face pipeline on a source and print observations."),
}

CLOUD_COMMANDS = {
    "ingest": ("cloud.ingest.commands:ingest", "Ingest MQTT into the relational store and InfluxDB."),
    "stations": ("cloud.registry.commands:stations", "The station registry (import from YAML or CSV)."),
    "provision": ("cloud.provision.commands:provision", "Broker credentials, ACL and TLS for stations."),
    "migrate": ("cloud.store.commands:migrate", "Create or upgrade the database schema."),
    "backup": ("cloud.store.backup:backup", "Copy the embedded SQLite store consistently while it runs."),
    "record-loss": ("cloud.ingest.record_loss:record_loss", "Record a window of messages the platform lost."),
    "worker": ("cloud.derive.commands:worker", "Recompute derived results as events arrive."),
    "sender": ("cloud.alerts.commands:sender", "Publish queued commands to stations (cmd/call-ack)."),
    "derive": ("cloud.derive.commands:derive", "Recompute verdicts offline from raw files, for audits."),
    "rederive": ("cloud.derive.commands:rederive", "Recompute stored verdicts after a rules/calendar change."),
    "api": ("cloud.api.commands:api", "Serve the API and the dashboard."),
    "homecare": ("cloud.homecare.commands:homecare", "Home-care registry: import elders, providers, caregivers."),
}

SIMULATE_COMMANDS = {
    "station": ("simulators.commands:station", "Simulate a station's day against a broker."),
    "fleet": ("simulators.fleet_commands:fleet", "Simulate a fleet of stations against a broker."),
}


@click.group(cls=LazyGroup, lazy=EDGE_COMMANDS)
def edge() -> None:
    """The station's edge agent and its devices."""


@click.group(cls=LazyGroup, lazy=CLOUD_COMMANDS)
def cloud() -> None:
    """Ingest, derivations, API and broker provisioning."""


@click.group(cls=LazyGroup, lazy=SIMULATE_COMMANDS)
def simulate() -> None:
    """Simulated devices, stations and fleets."""
