"""How a pipeline's observations of the door footage compare with the footage's truth (its visits)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from simulators.door_people import Visit


@dataclass(frozen=True, slots=True)
class Score:
    """How observations compare with the truth. `ids` maps a visitor's name to their enrolled id (others: anon)."""

    visits: int
    found: int  # visits with an observation of the right person (an enrolled id, or an anonymous one for others)
    wrong: list[str]  # observations that name an enrolled person for someone else: the failure that matters most
    repeated: list[str]  # second observations of the same person on one visit
    stray: list[str]  # observations that belong to no visit, or an anonymous id for an enrolled person
    missed: list[Visit]

    @property
    def found_share(self) -> float:
        return self.found / self.visits if self.visits else 1.0


def score(visits: Sequence[Visit], observations: Sequence[tuple[str, float]], ids: Mapping[str, str],
          slack_s: float = 2.5) -> Score:
    """Match (person, seconds) observations to the visits whose face was in view then (plus `slack_s`, the time a
    tracker may take to give up on a face). A person's observation counts for their own visit; an anonymous one for
    a visit of someone not enrolled."""
    names = {person: name for name, person in ids.items()}
    found: dict[int, str] = {}
    wrong: list[str] = []
    repeated: list[str] = []
    stray: list[str] = []
    for person, t in observations:
        live = [i for i, v in enumerate(visits) if v.enter - 0.5 <= t <= v.gone + slack_s]
        name = names.get(person)
        if name is not None:
            mine = [i for i in live if visits[i].who == name]
            if not mine:
                others = ", ".join(visits[i].who for i in live) or "nobody"
                (wrong if live else stray).append(f"{person} at {t:.1f} s (in view: {others})")
                continue
        else:
            mine = [i for i in live if visits[i].who not in ids]
            if not mine:
                stray.append(f"{person} at {t:.1f} s (in view: {', '.join(visits[i].who for i in live) or 'nobody'})")
                continue
        fresh = [i for i in mine if i not in found]
        if fresh:
            found[fresh[0]] = person
        else:
            repeated.append(f"{person} at {t:.1f} s")
    missed = [v for i, v in enumerate(visits) if i not in found]
    return Score(len(visits), len(found), wrong, repeated, stray, missed)
