"""Station records from files: the bureau's CSV, or firmware_config station YAML files (one per station)."""

from pathlib import Path

from cloud.csv_records import decode_csv_bytes
from cloud.registry.csv_rows import StationRecord, parse_station_csv

YAML_SUFFIXES = (".yaml", ".yml")


def _from_yaml(path: Path) -> tuple[list[StationRecord], list[str]]:
    from firmware_config.load import ConfigError, load_station  # the edge's own loader and messages

    try:
        config = load_station(path)
    except ConfigError as exc:
        return [], exc.problems
    if config.schedule is None:
        return [], [f"{path}: schedule: missing; the registry needs the station's working hours "
                    "(schedule: {weekdays: '1-5', hours: '08:30-11:30 13:30-17:00'})"]
    record = StationRecord(id=config.station, name=config.name, town=config.town, kind=config.kind,
                           grade=config.grade,
                           schedule=config.schedule, address=config.address)
    return [record], []


def _from_csv(path: Path) -> tuple[list[StationRecord], list[str]]:
    try:
        text = decode_csv_bytes(path.read_bytes())
    except ValueError as exc:
        return [], [f"{path}: {exc}"]
    records, problems = parse_station_csv(text)
    return records, [f"{path}: {problem}" for problem in problems]



def read_sources(paths: list[Path]) -> tuple[list[StationRecord], list[str]]:
    """Records from every file (directories: their *.yaml/*.yml/*.csv), and one line per problem."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in (*YAML_SUFFIXES, ".csv"))
        else:
            files.append(path)
    records: list[StationRecord] = []
    problems: list[str] = []
    where: dict[str, Path] = {}
    for file in files:
        if file.suffix.lower() == ".csv":
            found, bad = _from_csv(file)
        elif file.suffix.lower() in YAML_SUFFIXES:
            found, bad = _from_yaml(file)
        else:
            found, bad = [], [f"{file}: not a .csv, .yaml or .yml file"]
        problems += bad
        for record in found:
            if record.id in where and where[record.id] != file:
                problems.append(f"{file}: station {record.id} is also in {where[record.id]}; the later one wins")
                records = [r for r in records if r.id != record.id]
            where[record.id] = file
            records.append(record)
    return records, problems
