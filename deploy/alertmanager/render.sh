#!/bin/sh
# Entrypoint of the alertmanager service in docker-compose.yml: writes Alertmanager's configuration from the
# operator's settings in .env (the ALERT_* variables compose passes in), then starts Alertmanager.
#   render.sh OUTPUT -- alertmanager and its arguments (--config.file=OUTPUT)
# Alertmanager expands no environment variables in its configuration, and WeCom's secret has no *_file setting, so
# the values are written into OUTPUT here, each as a YAML double-quoted string (backslashes and double quotes escaped:
# `$`, `&`, `/`, `'`, `#` and any other printable character arrive as typed). Only POSIX sh, sed and tr: the
# prom/alertmanager image has busybox and nothing else.
#
# Channels, each used when its variables are set (docs/alerting.md):
#   WeCom (企业微信) app messages: ALERT_WECOM_CORP_ID, ALERT_WECOM_AGENT_ID, ALERT_WECOM_SECRET and
#     ALERT_WECOM_TO_USER and/or ALERT_WECOM_TO_PARTY; ALERT_WECOM_API_URL for a privately hosted WeCom
#   e-mail: ALERT_EMAIL_TO, ALERT_SMTP_SMARTHOST (host:port), ALERT_SMTP_FROM, ALERT_SMTP_USERNAME and
#     ALERT_SMTP_PASSWORD (both or neither), ALERT_SMTP_REQUIRE_TLS=false only for a relay without STARTTLS
#   a webhook (an SMS gateway, a chat bridge): ALERT_WEBHOOK_URL
# The dead man's switch: ALERT_DEADMAN_URL, the ping URL of an outside heartbeat service (healthchecks.io, Uptime
#   Kuma's push monitor, Cronitor) that pages when the pings stop; the always-firing Watchdog alert
#   (deploy/prometheus/alerts.yml) goes there every ALERT_DEADMAN_INTERVAL (5m by default), and nowhere else.
# A channel half set, a placeholder, or a value with a control character: refused (exit 78), one line saying which.
# No channel at all: Alertmanager still starts, the alerts show in Grafana and in Alertmanager, and nobody is paged;
# this script says so on every start. No dead man's switch: it says on every start that a dead host pages nobody.
set -eu

[ "$#" -ge 1 ] || { echo "render.sh: usage: render.sh OUTPUT -- alertmanager [ARGS]" >&2; exit 64; }
out=$1
shift
[ "${1-}" = "--" ] && shift
here=$(cd "$(dirname "$0")" && pwd)

# The same list as deploy/checks/refuse-placeholders.sh and cloud/placeholders.py (a test keeps them equal).
PLACEHOLDERS=" x xx xxx change-me changeme change_me change-this changethis secret secret-key secret_key secretkey mysecret password passw0rd admin test testing dev development default example placeholder replace-me replaceme todo none null eldercare "

refuse() {
    echo "alertmanager: refusing to start: $*" >&2
    exit 78
}

value_of() {
    eval "printf '%s' \"\${$1-}\""
}

# A value that is set: one printable line, no change-me, a secret no placeholder; a value Alertmanager expands as a
# template (every WeCom setting, the e-mail addresses) may not hold `{{`, which would be read as the start of one.
check() {
    name=$1
    value=$(value_of "$name")
    [ -n "$value" ] || return 0
    case "$value" in
        *[[:cntrl:]]*) refuse "$name holds a line break or another control character; put it on one line in .env" ;;
    esac
    folded=$(printf '%s' "$value" | tr '[:upper:]' '[:lower:]')
    case "$folded" in
        *change-me*|*changeme*|*change_me*) refuse "$name still holds a placeholder; set the real value in .env" ;;
    esac
    case "$name" in
        *SECRET|*PASSWORD)  # a user name or a department may well be `admin` or `test`; a secret may not
            case "$PLACEHOLDERS" in
                *" $folded "*) refuse "$name is a placeholder; set the real value in .env" ;;
            esac ;;
    esac
    case "$name" in
        ALERT_WECOM_*|ALERT_EMAIL_TO|ALERT_SMTP_FROM)
            case "$value" in
                *"{{"*) refuse "$name holds '{{', which Alertmanager would read as a template" ;;
            esac ;;
    esac
}

set_() {
    [ -n "$(value_of "$1")" ]
}

# YAML double-quoted scalar of a checked value (one line, no control characters).
q() {
    printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
}

for name in ALERT_WECOM_CORP_ID ALERT_WECOM_AGENT_ID ALERT_WECOM_SECRET ALERT_WECOM_TO_USER ALERT_WECOM_TO_PARTY \
            ALERT_WECOM_API_URL ALERT_EMAIL_TO ALERT_SMTP_SMARTHOST ALERT_SMTP_FROM ALERT_SMTP_USERNAME \
            ALERT_SMTP_PASSWORD ALERT_SMTP_REQUIRE_TLS ALERT_WEBHOOK_URL ALERT_DEADMAN_URL ALERT_DEADMAN_INTERVAL; do
    check "$name"
done

wecom=no
if set_ ALERT_WECOM_CORP_ID || set_ ALERT_WECOM_AGENT_ID || set_ ALERT_WECOM_SECRET || set_ ALERT_WECOM_TO_USER \
   || set_ ALERT_WECOM_TO_PARTY || set_ ALERT_WECOM_API_URL; then
    for name in ALERT_WECOM_CORP_ID ALERT_WECOM_AGENT_ID ALERT_WECOM_SECRET; do
        set_ "$name" || refuse "WeCom is half configured: set $name in .env (or none of the ALERT_WECOM_ variables)"
    done
    set_ ALERT_WECOM_TO_USER || set_ ALERT_WECOM_TO_PARTY \
        || refuse "WeCom is half configured: set ALERT_WECOM_TO_USER (members, a|b)" \
                  "or ALERT_WECOM_TO_PARTY (departments) in .env"
    case "${ALERT_WECOM_API_URL:-https://qyapi.weixin.qq.com/cgi-bin/}" in
        http://*/|https://*/) ;;
        *) refuse "ALERT_WECOM_API_URL must be an http(s) URL ending in / (the API's base," \
                  "e.g. https://qyapi.weixin.qq.com/cgi-bin/)" ;;
    esac
    wecom=yes
fi

email=no
if set_ ALERT_EMAIL_TO || set_ ALERT_SMTP_SMARTHOST || set_ ALERT_SMTP_FROM || set_ ALERT_SMTP_USERNAME \
   || set_ ALERT_SMTP_PASSWORD || set_ ALERT_SMTP_REQUIRE_TLS; then
    for name in ALERT_EMAIL_TO ALERT_SMTP_SMARTHOST ALERT_SMTP_FROM; do
        set_ "$name" || refuse "e-mail is half configured: set $name in .env (or none of ALERT_EMAIL_TO, ALERT_SMTP_)"
    done
    case "$ALERT_SMTP_SMARTHOST" in
        *:*[!0-9]*|*:) refuse "ALERT_SMTP_SMARTHOST must be host:port, e.g. smtp.example.gov.cn:465" ;;
        ?*:[0-9]*) ;;
        *) refuse "ALERT_SMTP_SMARTHOST must be host:port, e.g. smtp.example.gov.cn:465" ;;
    esac
    if set_ ALERT_SMTP_USERNAME && ! set_ ALERT_SMTP_PASSWORD; then
        refuse "ALERT_SMTP_USERNAME is set without ALERT_SMTP_PASSWORD"
    fi
    if set_ ALERT_SMTP_PASSWORD && ! set_ ALERT_SMTP_USERNAME; then
        refuse "ALERT_SMTP_PASSWORD is set without ALERT_SMTP_USERNAME"
    fi
    case "${ALERT_SMTP_REQUIRE_TLS:-true}" in
        true|false) ;;
        *) refuse "ALERT_SMTP_REQUIRE_TLS must be true or false" ;;
    esac
    email=yes
fi

webhook=no
if set_ ALERT_WEBHOOK_URL; then
    case "$ALERT_WEBHOOK_URL" in
        http://?*|https://?*) ;;
        *) refuse "ALERT_WEBHOOK_URL must be an http:// or https:// URL" ;;
    esac
    webhook=yes
fi

# The dead man's switch. The interval is how often the heartbeat service hears from this host: an Alertmanager
# duration, whole seconds, minutes or hours. It must be an outside service, never the operator's own webhook: that
# would page (or text) someone every few minutes.
deadman=no
deadman_interval=${ALERT_DEADMAN_INTERVAL:-5m}
number=${deadman_interval%[smh]}
case "$number" in
    "$deadman_interval"|""|0*|*[!0-9]*)
        refuse "ALERT_DEADMAN_INTERVAL must be a whole number of seconds, minutes or hours, e.g. 5m" ;;
esac
if set_ ALERT_DEADMAN_URL; then
    case "$ALERT_DEADMAN_URL" in
        http://?*|https://?*) ;;
        *) refuse "ALERT_DEADMAN_URL must be an http:// or https:// URL (the heartbeat service's ping URL)" ;;
    esac
    case "$ALERT_DEADMAN_URL" in
        *"<"*|*">"*|*" "*) refuse "ALERT_DEADMAN_URL holds '<', '>' or a space: put the service's own ping URL there," \
                                  "e.g. https://hc-ping.com/ followed by the check's UUID" ;;
    esac
    [ "$ALERT_DEADMAN_URL" != "${ALERT_WEBHOOK_URL-}" ] \
        || refuse "ALERT_DEADMAN_URL is ALERT_WEBHOOK_URL: the dead man's switch is an outside heartbeat service," \
                  "not the operator's webhook (it would be sent Watchdog every $deadman_interval)"
    deadman=yes
elif set_ ALERT_DEADMAN_INTERVAL; then
    refuse "ALERT_DEADMAN_INTERVAL is set without ALERT_DEADMAN_URL (the heartbeat service's ping URL)"
fi

# Never echo a value: dash's echo reads backslashes in it as escapes.
line() {
    printf '%s\n' "$*"
}

# The dead man's switch's one channel. Not told of a resolution: Watchdog resolves only when Prometheus stopped sending
# it, and a "resolved" post would be one more ping to the heartbeat service, delaying its page.
deadman_channel() {
    if [ "$deadman" = yes ]; then
        line "    webhook_configs:"
        line "      - send_resolved: false"
        line "        url: $(q "$ALERT_DEADMAN_URL")"
    fi
}

# The notifications of one receiver: every channel configured, each also told when the alert is resolved.
channels() {
    if [ "$wecom" = yes ]; then
        line "    wechat_configs:"
        line "      - send_resolved: true"
        line "        api_url: $(q "${ALERT_WECOM_API_URL:-https://qyapi.weixin.qq.com/cgi-bin/}")"
        line "        corp_id: $(q "$ALERT_WECOM_CORP_ID")"
        line "        agent_id: $(q "$ALERT_WECOM_AGENT_ID")"
        line "        api_secret: $(q "$ALERT_WECOM_SECRET")"
        line "        to_user: $(q "${ALERT_WECOM_TO_USER-}")"
        line "        to_party: $(q "${ALERT_WECOM_TO_PARTY-}")"
        line "        to_tag: \"\""
        line "        message_type: text"
        line "        message: '{{ template \"eldercare.wechat\" . }}'"
    fi
    if [ "$email" = yes ]; then
        line "    email_configs:"
        line "      - send_resolved: true"
        line "        to: $(q "$ALERT_EMAIL_TO")"
        line "        from: $(q "$ALERT_SMTP_FROM")"
        line "        smarthost: $(q "$ALERT_SMTP_SMARTHOST")"
        if set_ ALERT_SMTP_USERNAME; then
            line "        auth_username: $(q "$ALERT_SMTP_USERNAME")"
            line "        auth_password: $(q "$ALERT_SMTP_PASSWORD")"
        fi
        line "        require_tls: ${ALERT_SMTP_REQUIRE_TLS:-true}"
        line "        headers:"
        line "          Subject: '{{ template \"eldercare.title\" . }}'"
        line "        text: '{{ template \"eldercare.text\" . }}'"
        line "        html: '{{ template \"eldercare.html\" . }}'"
    fi
    if [ "$webhook" = yes ]; then
        line "    webhook_configs:"
        line "      - send_resolved: true"
        line "        url: $(q "$ALERT_WEBHOOK_URL")"
    fi
}

render() {
    cat <<EOF
# Written by deploy/alertmanager/render.sh at the container's start from the ALERT_* settings in .env: edit those
# (or deploy/alertmanager/render.sh), not this file.
templates:
  - $(q "$here/templates/*.tmpl")

# One notification per alert name (both ingesters down: one message naming both), sent 30 s after the first alert
# so the rest of a burst joins it. A lost broker session fires at Prometheus's first evaluation (no 'for:'), so its
# message leaves within about a minute. Changes to a group (another instance, a resolution) go out at most every
# 5 minutes. A standing critical alert is repeated every 4 hours (twice in a night, not every 5 minutes: the broker
# keeps an absent ingester's messages for 3 days), a standing warning once a day.
route:
  receiver: oncall-critical
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    # The dead man's switch: the always-firing Watchdog goes to the outside heartbeat service only (the first route
    # that matches wins, so it reaches none of the operator's channels), at once and then every
    # ALERT_DEADMAN_INTERVAL. Alertmanager repeats a notification only at a group_interval tick, and only once
    # repeat_interval has passed since the last one was sent, which is a little after the previous tick (equal
    # intervals would send every other tick): a repeat_interval shorter than any interval makes every tick send.
    # Alertmanager 0.26 and later warn at start that "repeat_interval is less than group_interval": that is meant.
    - matchers: ['alertname="Watchdog"']
      receiver: deadman
      group_wait: 0s
      group_interval: $deadman_interval
      repeat_interval: 1ms
    - matchers: ['severity="warning"']
      receiver: oncall-warning
      group_wait: 1m
      repeat_interval: 24h

# The same channels for both: the receiver's name tells them apart (in the message's title, in the webhook's body
# and in Alertmanager's page). An alert of no known severity takes the critical path. The dead man's switch's own
# receiver has no channel when ALERT_DEADMAN_URL is unset: Watchdog then goes nowhere, never to the operator.
receivers:
  - name: oncall-critical
$(channels)
  - name: oncall-warning
$(channels)
  - name: deadman
$(deadman_channel)
EOF
}

umask 077
render >"$out.tmp"
mv "$out.tmp" "$out"

used=""
[ "$wecom" = yes ] && used="$used WeCom (企业微信)"
[ "$email" = yes ] && used="$used e-mail to $ALERT_EMAIL_TO"
[ "$webhook" = yes ] && used="$used webhook"
if [ -n "$used" ]; then
    printf '%s\n' "alertmanager: alerts are sent through:$used"
else
    echo "alertmanager: WARNING: NO ALERT CHANNEL IS CONFIGURED: NOTHING PAGES ANYONE. Alerts show only in Grafana" \
         "(流水线健康 Pipeline health) and Alertmanager. Set ALERT_WECOM_*, ALERT_EMAIL_TO/ALERT_SMTP_* or" \
         "ALERT_WEBHOOK_URL in .env (docs/alerting.md) and run 'docker compose up -d alertmanager'." >&2
fi

if [ "$deadman" = yes ]; then
    printf '%s\n' "alertmanager: dead man's switch: Watchdog is sent to ALERT_DEADMAN_URL every $deadman_interval"
else
    echo "alertmanager: WARNING: NO DEAD MAN'S SWITCH IS CONFIGURED: IF THIS HOST, PROMETHEUS OR ALERTMANAGER IS DOWN," \
         "NOTHING PAGES ANYONE. Set ALERT_DEADMAN_URL in .env to the ping URL of an outside heartbeat service" \
         "(healthchecks.io, docs/alerting.md) and run 'docker compose up -d alertmanager'." >&2
fi

[ "$#" -gt 0 ] || exit 0
exec "$@"
