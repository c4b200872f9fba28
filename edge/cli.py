"""`eldercare edge`: the station agent and its devices. Face commands load only when the face extra is installed."""

import click

from eldercare.lazy import LazyGroup

COMMANDS = {
    "check-config": ("edge.commands:check_config", "Validate station config files without touching hardware."),
    "run": ("edge.commands:run", "Run the station agent."),
    "enrol": ("edge.face.commands:enrol", "Enrol a person's face (with consent) in the station gallery."),
    "forget": ("edge.face.commands:forget", "Delete a person from the station gallery."),
    "gallery": ("edge.face.commands:gallery", "List enrolled ids and roles (never encodings)."),
    "camera-test": ("edge.face.commands:camera_test", "Run the face pipeline on a source and print observations."),
}


@click.group(cls=LazyGroup, lazy=COMMANDS)
def edge() -> None:
    """The station's edge agent and its devices."""
