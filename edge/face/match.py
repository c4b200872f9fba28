"""Who is this face? Vectorised nearest-encoding search over the enrolled gallery, then over this month's unknowns.

One numpy expression per probe: a 1,000-person gallery (a few encodings each) is searched in well under a millisecond.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from edge.face.facestack import Vector
from edge.face.gallery import Person, Role, Unknown, new_anon_id
from edge.face.models import DEFAULT_MODEL, FaceModel, model

# Encodings kept per anonymous visitor: enough to recognise them again, no more.
MAX_UNKNOWN_ENCODINGS = 5


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a face is, as the protocol's `face` event says it: an id, a role, the match distance."""

    person: str
    role: Literal["elder", "staff", "unknown"]
    distance: float


class Index:
    """Encodings as one matrix, with their squared norms computed once, for nearest-neighbour queries."""

    def __init__(self, rows: list[list[float]]) -> None:
        self.matrix: npt.NDArray[np.float64] = np.asarray(rows, dtype=np.float64).reshape(len(rows), 128)
        self.norms: npt.NDArray[np.float64] = (self.matrix * self.matrix).sum(axis=1)

    def nearest(self, probes: list[Vector]) -> tuple[int, float]:
        """Row closest to any probe, and its Euclidean distance; (-1, inf) when there are no rows."""
        if self.matrix.shape[0] == 0 or not probes:
            return -1, float("inf")
        p = np.asarray(probes, dtype=np.float64)
        # |a - b|^2 = |a|^2 + |b|^2 - 2 a.b: one matrix product instead of a (probes x rows x 128) difference.
        squared = (p * p).sum(axis=1)[:, None] + self.norms[None, :] - 2 * p @ self.matrix.T
        row = int(np.argmin(squared.min(axis=0)))
        # The expansion loses a little precision: the winner's distance is recomputed exactly.
        return row, float(np.linalg.norm(p - self.matrix[row], axis=1).min())


class Recogniser:
    """Matches encodings of `face_model` to enrolled people within `tolerance` (None: the model's measured one);
    gives unknown faces a stable anonymous id."""

    def __init__(
        self,
        people: list[Person],
        tolerance: float | None = None,
        load_unknowns: Callable[[str, str], list[Unknown]] | None = None,
        save_unknowns: Callable[[str, list[Unknown], str], None] | None = None,
        *,
        face_model: FaceModel | None = None,
    ) -> None:
        self.model = face_model or model(DEFAULT_MODEL)
        self._tolerance = tolerance
        self.set_people(people)
        self._load = load_unknowns
        self._save = save_unknowns
        self._month = ""
        self._unknowns: list[Unknown] = []
        self._unknown_owner = np.asarray([], dtype=np.int64)
        self._unknown_index = Index([])

    @property
    def tolerance(self) -> float:
        return self.model.tolerance if self._tolerance is None else self._tolerance

    def set_people(self, people: list[Person], face_model: FaceModel | None = None) -> None:
        """Match against these enrolled people from now on (after an enrolment or a `forget`); `face_model` when the
        gallery was enrolled afresh with another model (this month's unknowns, of the old model, are dropped)."""
        if face_model is not None and face_model != self.model:
            self.model = face_model
            self._month, self._unknowns = "", []
            self._reindex()
        # Ids and roles only: the encodings live in the matrix, not also as Python floats (20 MiB per 1,000 people).
        self._people: list[tuple[str, Role]] = [(p.id, p.role) for p in people]
        self._owner = np.asarray([i for i, p in enumerate(people) for _ in p.encodings], dtype=np.int64)
        self._known = Index([e for p in people for e in p.encodings])

    @property
    def enrolled(self) -> set[str]:
        """The ids of the enrolled people matched against."""
        return {person for person, _ in self._people}

    def known(self, encoding: Vector) -> Identity | None:
        """The enrolled person this face is, or None when nobody is within tolerance."""
        row, distance = self._known.nearest([encoding])
        if distance > self.tolerance:
            return None
        person, role = self._people[int(self._owner[row])]
        return Identity(person, role, round(distance, 4))

    def known_track(self, encodings: list[Vector]) -> Identity | None:
        """The enrolled person a track's face is, from the mean of all its encodings, or None.

        One small, blurred, compressed view of a face can land nearer someone else than its own enrolment; the mean
        of several views of the same track is nearer the person than most single views are, and deciding on it alone
        (not also on the latest view) gives a passing face no extra chances to match someone it is not."""
        if not encodings:
            return None
        row, distance = self._known.nearest([self.model.mean(encodings)])
        if distance > self.tolerance:
            return None
        person, role = self._people[int(self._owner[row])]
        return Identity(person, role, round(distance, 4))

    def set_month(self, month: str) -> None:
        """Work with `month`'s unknown visitors (YYYY-MM); the store deletes earlier months' (the monthly purge)."""
        if month != self._month:
            self._month = month
            self._unknowns = self._load(month, self.model.name) if self._load else []
            self._reindex()

    def _reindex(self) -> None:
        self._unknown_owner = np.asarray([i for i, u in enumerate(self._unknowns) for _ in u.encodings], dtype=np.int64)
        self._unknown_index = Index([e for u in self._unknowns for e in u.encodings])

    def unknown(self, encodings: list[Vector], month: str) -> Identity:
        """The anonymous id of a face that matched nobody enrolled: this month's same unknown, or a new random one."""
        self.set_month(month)
        row, distance = self._unknown_index.nearest(encodings)
        if distance <= self.tolerance:
            return Identity(self._unknowns[int(self._unknown_owner[row])].id, "unknown", round(distance, 4))
        rows = [[float(x) for x in e] for e in encodings[:MAX_UNKNOWN_ENCODINGS]]
        self._unknowns.append(Unknown(id=new_anon_id(), encodings=rows))
        self._reindex()
        if self._save:
            self._save(month, self._unknowns, self.model.name)
        return Identity(self._unknowns[-1].id, "unknown", 0.0)
