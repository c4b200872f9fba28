#!/bin/sh
# Entrypoint guard for the services of docker-compose.yml that cannot check their own secrets (Grafana, PostgreSQL,
# InfluxDB, the TLS proxy): refuse to start while a named variable is empty, a known placeholder or too short.
#   refuse-placeholders.sh VAR [VAR...] -- the image's own entrypoint and arguments
# The placeholder list matches cloud/placeholders.py (a test keeps them equal).
PLACEHOLDERS=" x xx xxx change-me changeme change_me change-this changethis secret secret-key secret_key secretkey mysecret password passw0rd admin test testing dev development default example placeholder replace-me replaceme todo none null eldercare "
MIN_LENGTH=16

while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
    name=$1
    shift
    eval "value=\${$name-}"
    folded=$(printf '%s' "$value" | tr '[:upper:]' '[:lower:]')
    case "$folded" in
        *change-me*|*changeme*|*change_me*)
            echo "refusing to start: $name still holds a placeholder; set a real value in .env" >&2; exit 78 ;;
    esac
    case "$PLACEHOLDERS" in
        *" $folded "*)
            echo "refusing to start: $name is empty or a placeholder; set a real value in .env" >&2; exit 78 ;;
    esac
    case "$name" in
        *HOST*) ;;  # a name, not a secret: no length rule
        *)
            if [ "${#value}" -lt "$MIN_LENGTH" ]; then
                echo "refusing to start: $name is ${#value} characters; use at least $MIN_LENGTH random ones" >&2
                exit 78
            fi ;;
    esac
done
[ "${1-}" = "--" ] && shift
[ "$#" -gt 0 ] || { echo "refuse-placeholders.sh: no command after --" >&2; exit 64; }
exec "$@"
