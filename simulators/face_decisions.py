"""Record once, replay many: how each way of deciding who a track is scores on the door footage.

Running the pipeline over a minute of footage costs minutes (rendering, detection, ~100 ms per encoding); deciding
who a track is, given its encodings, costs microseconds. So `record` runs the camera's own gate, detector and tracker
over `simulators.door_scene` footage once, encodes every whole face of `min_face_px` or more on every searched frame
(more than the pipeline ever encodes) with every face model (`edge.face.models`), and stores each track's encodings
with the face's height, its sharpness and the truth (whose face it was). `replay` then picks, per track, the
encodings the pipeline's schedule would have taken (every 0.2 s or when 20 % bigger, up to `encode_attempts`),
applies each decision rule (of one face model) after each encoding as the pipeline does, and scores the visits:
found, given to the wrong enrolled person, and "lookalike" wrong matches (each enrolled person in turn treated as
never enrolled: their tracks must then match nobody; this is the test of a stranger who looks like an elder, which
the footage's one unenrolled visitor alone tests too rarely).

The recordings hold face encodings: they are written where you say (default under /tmp), never into the repository.

Usage: python -m simulators.face_decisions record --seeds 1,2,3,4 [--out /tmp/face_decisions]
       python -m simulators.face_decisions replay --sets 1,2,3,4 5,6,7,8 [--model sface|dlib] [--enrol-variants]
(the first set is the one rules were tuned on; the others are held out.) `--enrol-variants` also enrols each photo
dimmed to half the light and blurred as by someone walking towards the camera (an experiment: see docs/face.md).
"""

import argparse
import json
import time
from pathlib import Path

from edge.face.models import DEFAULT_MODEL, MODEL_NAMES, model

# The parts, one job each; their names stay importable from here.
from simulators.face_recording import SECONDS, Array, TrackRecord, View, load, record
from simulators.face_replay_gallery import gallery, variants
from simulators.face_rules import RULES, Result, Rule, aggregate, decide, evaluate, schedule

__all__ = ["RULES", "SECONDS", "Array", "Result", "Rule", "TrackRecord", "View", "aggregate", "decide", "evaluate",
           "gallery", "load", "main", "record", "schedule", "variants"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("record", "replay"))
    parser.add_argument("--seeds", default="1,2,3,4,5,6,7,8")
    parser.add_argument("--sets", nargs="+", default=["1,2,3,4", "5,6,7,8"], help="seeds; the first set is tuned on")
    parser.add_argument("--enrol-variants", action="store_true")
    parser.add_argument("--model", choices=MODEL_NAMES, default=DEFAULT_MODEL, help="the face model to replay")
    parser.add_argument("--out", type=Path, default=Path("/tmp/face_decisions"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True, mode=0o700)
    if args.command == "record":
        for seed in (int(s) for s in args.seeds.split(",")):
            started = time.monotonic()
            data = record(seed)
            (args.out / f"seed{seed}.json").write_text(json.dumps(data))
            print(f"seed {seed}: {len(data['visits'])} visits, {len(data['rows'])} encodings, "
                  f"{time.monotonic() - started:.0f} s", flush=True)
        return
    face_model = model(args.model)
    people = gallery(args.enrol_variants, face_model)
    sets = [[load(args.out / f"seed{s}.json", face_model.name) for s in seeds.split(",")] for seeds in args.sets]
    heads = [f"{'tuned' if i == 0 else 'held out'}: seeds {seeds}" for i, seeds in enumerate(args.sets)]
    print("cells: visits found, given to the wrong person, lookalikes named, closest other person")
    print(f"| rule | {' | '.join(heads)} |")
    print("| --- |" + " --- |" * len(heads))
    for rule in RULES[face_model.name]:
        cells = []
        for footage in sets:
            r = evaluate(footage, people, rule, face_model)
            cells.append(f"{r.found}/{r.visits} ({100 * r.found / r.visits:.0f} %), {r.wrong}, {r.lookalike}, "
                         f"{r.closest_other:.3f}")
        print(f"| {rule.label} | {' | '.join(cells)} |", flush=True)


if __name__ == "__main__":
    main()
