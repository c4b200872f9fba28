"""Where to look for faces in a frame the motion gate let through: the moving regions, or only around the faces
already followed.

Searching the moving regions (upsampled, 20-60 ms a frame at 640x480) is how new faces are found. Once a face is
followed, looking for it again needs only a small window around its last box (`Detector.follow`, a few ms). So the
moving regions are searched every `search_every_s` while something moves that is new (neither explained by a
followed face nor already searched without finding one), every `discover_every_s` otherwise; on the frames in
between, the followed faces are looked for around their boxes. Measured in docs/face.md ("Benchmark").
"""

from edge.face.facestack import Box
from edge.face.track import Track

# A person's moving region (motion.py: the moving body's top part, widened by half its width on each side) is at most
# about this many times as wide as their face: shoulders and swinging arms are about three faces wide. A region
# wider than its followed faces account for may hold someone walking beside them.
EXPLAINED_WIDTH = 7


def inside(box: Box, region: Box) -> bool:
    """The centre of `box` lies in `region`."""
    y, x = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return region[0] <= y <= region[2] and region[3] <= x <= region[1]


def overlap(a: Box, b: Box) -> bool:
    """The two boxes share some pixels."""
    return a[0] < b[2] and b[0] < a[2] and a[3] < b[1] and b[3] < a[1]


def explained(region: Box, followed: list[Track]) -> bool:
    """The motion in `region` is that of faces already followed: the region holds some, and they account for its
    width."""
    widths = sum(track.box[1] - track.box[3] for track in followed if inside(track.box, region))
    return region[1] - region[3] <= EXPLAINED_WIDTH * widths


def discover(
    t: float,
    regions: list[Box],
    tracks: list[Track],
    empty: list[Box],
    searched_at: float,
    every_s: float,
    known_every_s: float,
) -> bool:
    """Search the moving `regions` for faces now? Every `every_s` while one of them is new: neither explained by a
    face followed in the last two intervals nor overlapping a region of the last search that held no face (`empty`:
    someone walking out with their back to the camera). Every `known_every_s` in any case, so someone walking
    beside a followed person, or turning round, is still found."""
    since = t - searched_at + 1e-6
    if since < every_s:
        return False
    if since >= known_every_s:
        return True
    followed = [track for track in tracks if t - track.last_seen <= 2 * every_s + 1e-6]
    return not all(explained(region, followed) or any(overlap(region, seen) for seen in empty) for region in regions)


def empty_regions(regions: list[Box], faces: list[Box], shape: tuple[int, ...]) -> list[Box]:
    """The moving regions just searched that held no face. The whole frame never counts as one: it is searched whole
    when most of it changed (the light, someone right under the camera), which says nothing about where."""
    whole = (0, shape[1], shape[0], 0)
    return [region for region in regions if region != whole and not any(inside(face, region) for face in faces)]


def to_follow(t: float, tracks: list[Track], identifying: bool, followed_at: float, every_s: float) -> list[Track]:
    """The tracks to look for around their last box in this frame: every frame while a face waits to be identified
    (each look is another view to encode), every `every_s` otherwise (keeping the track alive, so an identified
    face is not encoded again as someone new)."""
    if identifying or t - followed_at + 1e-6 >= every_s:
        # A face not found for two intervals (turned away, hidden, gone) is left to the region searches.
        return [track for track in tracks if t - track.last_seen <= 2 * every_s + 1e-6]
    return []
