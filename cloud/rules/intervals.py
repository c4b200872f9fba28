"""Half-open [start, end) intervals of epoch seconds: the algebra the timeline is built from."""

from collections.abc import Iterable

Interval = tuple[float, float]


def merge(spans: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping union; touching intervals are joined, empty ones dropped."""
    out: list[Interval] = []
    for s, e in sorted(spans):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """Intersection of two merged lists."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        s = max(a[i][0], b[j][0])
        e = min(a[i][1], b[j][1])
        if s < e:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """`a` minus `b`, both merged."""
    out: list[Interval] = []
    j = 0
    for s, e in a:
        cur = s
        while j < len(b) and b[j][1] <= cur:
            j += 1
        k = j
        while k < len(b) and b[k][0] < e:
            if b[k][0] > cur:
                out.append((cur, b[k][0]))
            cur = max(cur, b[k][1])
            k += 1
        if cur < e:
            out.append((cur, e))
    return out


def close_gaps(spans: list[Interval], shorter_than: float) -> list[Interval]:
    """A merged list with every gap between two of its intervals shorter than `shorter_than` filled in."""
    out: list[Interval] = []
    for s, e in spans:
        if out and s - out[-1][1] < shorter_than:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def total(spans: Iterable[Interval]) -> float:
    return sum(e - s for s, e in spans)


def covering(spans: list[Interval], t: float) -> Interval | None:
    """The interval of a merged list that contains `t`, if any."""
    for s, e in spans:
        if s <= t < e:
            return (s, e)
        if s > t:
            break
    return None
