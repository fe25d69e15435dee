#!/usr/bin/env bash
# A real OpenID provider on 127.0.0.1 for the sign-in tests: Debian's glewlwyd with its own
# SQLite database, configured through its admin API by scripts/oidc_provider.py.
#
#   scripts/oidc-provider.sh start DIR [PORT]   start (or find running) and configure; prints the issuer
#   scripts/oidc-provider.sh stop DIR           stop the provider started in DIR
#   scripts/oidc-provider.sh add-client DIR CLIENT_ID SECRET REDIRECT_URI...
#                                               register (or update) a confidential client
#
# start writes DIR/issuer (the issuer URL, http://127.0.0.1:PORT/api/oidc, also printed on
# stdout; discovery at <issuer>/.well-known/openid-configuration), DIR/glewlwyd.pid and
# DIR/glewlwyd.log. A provider already running in DIR is left as it is. PORT defaults to the
# port of an earlier start in DIR, else a free one. A start in a new DIR makes a fresh database
# and signing key; a restart in the same DIR keeps both (users keep their `sub`).
#
# The test users, each with the password `<username>-password`, are alice and bob (clinician),
# audrey (auditor) and ada (admin); ID tokens, /userinfo and access tokens carry `roles`. Each
# has consented to every client registered here, so the login page needs only the password
# and Continue (Tests/oidc/login.py).
#
# Environment:
#   BEDSIDE_REDIRECT_URI        the client `bedside`'s redirect URIs, space separated
#                               (default http://127.0.0.1:8080/auth/callback)
#   BEDSIDE_OIDC_CLIENT_SECRET  its secret (default bedside-secret)
#   OIDC_PROVIDER_TOKEN_SECONDS access and ID token lifetime (default 3600)
#   OIDC_PROVIDER_RESOURCES     resources (RFC 8707) a client may ask an access token for, which
#                               become its `aud`; default: <origin>/mcp of each redirect URI
#                               ending in /auth/callback
#   OIDC_PROVIDER_POST_LOGOUT_REDIRECT_URI  where end_session may return; default: <origin>/
#                               of each redirect URI ending in /auth/callback
#   OIDC_PROVIDER_CLIENT_ROLES  roles of the client itself in its client_credentials tokens
#                               (add-client and the `bedside` client; default none)
# Needs glewlwyd, sqlite3, openssl and python3 (standard library only).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() {
    sed -n '4,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# Whether the pid file names a live glewlwyd (not a zombie, not a process that reused the pid).
alive() {
    local pid="$1" state
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q glewlwyd || return 1
    state="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null)"
    [ "$state" != Z ]
}

running() {
    [ -f "$1/glewlwyd.pid" ] && alive "$(cat "$1/glewlwyd.pid")"
}

# A copy of the package's web pages (login, consent) with a config.json that reaches the API on
# the same origin. A copy, because glewlwyd serves no file whose real path is outside
# static_files_path, and the package's pages link to scripts elsewhere. Debian's
# webapp/config.json is a link to /etc/glewlwyd/config-2.7.json, which some installations hold
# as a directory containing config.json, so the file is looked for in both.
make_webapp() {
    local source=/usr/share/glewlwyd/webapp target="$1/webapp" config entry
    rm -rf "$target"
    mkdir -p "$target"
    for entry in "$source"/*; do
        [ "$(basename "$entry")" = config.json ] && continue
        cp -RL "$entry" "$target/"
    done
    for config in "$source/config.json" "$source/config.json/config.json" /etc/glewlwyd/config-2.7.json/config.json; do
        if [ -f "$config" ]; then
            python3 - "$config" "$target/config.json" <<'EOF'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    config = json.load(f)
config["GlewlwydUrl"] = "./"
with open(sys.argv[2], "w", encoding="utf-8") as f:
    json.dump(config, f, indent=2)
EOF
            return 0
        fi
    done
    echo "error: no config.json for glewlwyd's web pages under $source" >&2
    return 1
}

write_config() {
    local dir="$1" port="$2" url="http://127.0.0.1:$2"
    cat >"$dir/glewlwyd.conf" <<EOF
# Written by scripts/oidc-provider.sh for a test provider on loopback.
port=$port
bind_address="127.0.0.1"
external_url="$url"
login_url="login.html"
static_files_path="$dir/webapp/"
api_prefix="api"
allow_origin="*"
allow_methods="GET, POST, PUT, DELETE, OPTIONS"
allow_headers="Origin, X-Requested-With, Content-Type, Accept, Bearer, Authorization, DPoP"
expose_headers="Content-Encoding, Authorization"
log_mode="console"
log_level="INFO"
cookie_secure=0
cookie_same_site="empty"
session_expiration=3600
session_key="GLEWLWYD2_SESSION_ID"
admin_session_authentication="cookie"
profile_session_authentication="cookie"
allow_multiple_user_per_session=true
login_api_enabled=true
add_x_frame_option_header_deny=true
max_post_size=16778240
admin_scope="g_admin"
profile_scope="g_profile"
user_module_path="/usr/lib/glewlwyd/user"
client_module_path="/usr/lib/glewlwyd/client"
user_auth_scheme_module_path="/usr/lib/glewlwyd/scheme"
plugin_module_path="/usr/lib/glewlwyd/plugin"
hash_algorithm="SHA512"
database =
{
  type = "sqlite3"
  path = "$dir/glewlwyd.db"
};
static_files_mime_types =
(
  { extension = ".html"  mime_type = "text/html" },
  { extension = ".css"   mime_type = "text/css" },
  { extension = ".js"    mime_type = "application/javascript" },
  { extension = ".json"  mime_type = "application/json" },
  { extension = ".png"   mime_type = "image/png" },
  { extension = ".jpg"   mime_type = "image/jpeg" },
  { extension = ".svg"   mime_type = "image/svg+xml" },
  { extension = ".ttf"   mime_type = "font/ttf" },
  { extension = ".woff"  mime_type = "font/woff" },
  { extension = ".woff2" mime_type = "font/woff2" },
  { extension = ".map"   mime_type = "application/octet-stream" },
  { extension = ".ico"   mime_type = "image/x-icon" }
)
EOF
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    local dir port
    [ $# -ge 1 ] && [ $# -le 2 ] || usage
    mkdir -p "$1"
    dir="$(cd "$1" && pwd)"
    if running "$dir" && [ -f "$dir/issuer" ]; then
        cat "$dir/issuer"
        return 0
    fi
    for tool in glewlwyd sqlite3 openssl python3; do
        command -v "$tool" >/dev/null || { echo "error: $tool is not installed" >&2; exit 1; }
    done
    stop "$dir" >/dev/null
    # Without PORT, the port of an earlier start in DIR, so that the issuer stays the same.
    port="${2:-}"
    if [ -z "$port" ] && [ -f "$dir/url" ]; then
        port="$(sed -n 's|^http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$dir/url")"
    fi
    [ -n "$port" ] || port="$(free_port)"
    rm -f "$dir/issuer"
    # A restart in the same DIR keeps the database (so each user keeps the same `sub`) and the key.
    if [ ! -s "$dir/glewlwyd.db" ]; then
        rm -f "$dir/glewlwyd.db"
        zcat /usr/share/doc/glewlwyd/database/init.sqlite3.sql.gz | sqlite3 "$dir/glewlwyd.db"
    fi
    make_webapp "$dir"
    write_config "$dir" "$port"
    # Its own session and process group, so stop ends it and nothing else.
    setsid glewlwyd --config-file="$dir/glewlwyd.conf" >>"$dir/glewlwyd.log" 2>&1 </dev/null &
    echo $! >"$dir/glewlwyd.pid"
    if ! python3 "$here/oidc_provider.py" configure "$dir" "http://127.0.0.1:$port" >&2; then
        echo "error: the provider did not come up configured; its log follows" >&2
        tail -n 40 "$dir/glewlwyd.log" >&2 || true
        stop "$dir" >/dev/null
        exit 1
    fi
    cat "$dir/issuer"
}

stop() {
    local dir="$1" pid waited=0
    [ -f "$dir/glewlwyd.pid" ] || return 0
    pid="$(cat "$dir/glewlwyd.pid")"
    if alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        while alive "$pid" && [ $waited -lt 50 ]; do
            sleep 0.1
            waited=$((waited + 1))
        done
        if alive "$pid"; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$dir/glewlwyd.pid"
    echo "stopped"
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) [ $# -eq 2 ] || usage; stop "$2" ;;
    add-client)
        [ $# -ge 5 ] || usage
        running "$2" || { echo "error: no provider is running in $2" >&2; exit 1; }
        shift
        python3 "$here/oidc_provider.py" add-client "$@"
        ;;
    *) usage ;;
esac
