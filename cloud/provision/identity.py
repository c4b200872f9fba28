"""A station's kind and grade for its config skeleton, and whether a kept station file says otherwise."""

from pathlib import Path

import click

from firmware_config.kind import is_graded
from firmware_config.load import ConfigError, load_station

UNGRADED_NAMES = {"care_centre": "care centre (照料中心)", "neighbourhood_point": "neighbourhood point (睦邻点)"}


def skeleton_grade(kind: str, grade: str | None) -> str | None:
    """The grade the skeleton gets: a station's (2A unless given); none for a care centre or neighbourhood point, whose
    file the loader refuses with a grade (it would hold them to a figure, a veto and a subsidy they do not have)."""
    if is_graded(kind):
        return grade or "2A"
    if grade is not None:
        raise click.BadParameter(f"{grade} with --kind {kind}: a {UNGRADED_NAMES[kind]} has no grade; leave --grade "
                                 "out", param_hint="--grade")
    return None


def identity(kind: str, grade: str | None) -> str:
    return f"kind {kind}" + (f", grade {grade}" if grade else "")


def kept_identity_differs(path: Path, kind: str, grade: str | None) -> str | None:
    """The kind and grade an existing station file has, when they are not those asked for; None when they are (or
    the file does not load: `edge check-config` says why)."""
    try:
        config = load_station(path)
    except (ConfigError, OSError):
        return None
    if (config.kind, config.grade) == (kind, grade):
        return None
    return identity(config.kind, config.grade)
