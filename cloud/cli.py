"""`eldercare cloud`: ingest, derivations, API and broker provisioning."""

import click

from eldercare.lazy import LazyGroup

COMMANDS = {
    "ingest": ("cloud.ingest.commands:ingest", "Ingest MQTT into the relational store and InfluxDB."),
    "stations": ("cloud.registry.commands:stations", "The station registry (import from YAML or CSV)."),
    "provision": ("cloud.provision.commands:provision", "Broker credentials, ACL and TLS for stations."),
    "migrate": ("cloud.store.commands:migrate", "Create or upgrade the database schema."),
    "worker": ("cloud.derive.commands:worker", "Recompute derived results as events arrive."),
    "derive": ("cloud.derive.commands:derive", "Recompute verdicts offline from raw files, for audits."),
    "rederive": ("cloud.derive.commands:rederive", "Recompute stored verdicts after a rules/calendar change."),
    "api": ("cloud.api.commands:api", "Serve the API and the dashboard."),
    "homecare": ("cloud.homecare.commands:homecare", "Home-care registry: import elders, providers, caregivers."),
}


@click.group(cls=LazyGroup, lazy=COMMANDS)
def cloud() -> None:
    """Ingest, derivations, API and broker provisioning."""
