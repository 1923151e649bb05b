# shellcheck shell=bash
# Shared by every kopiaplan mover script. Rendered by kopiaplan from
# templates/common.sh; the template fills in fixed paths only. Every value
# from the plan arrives in an environment variable or as an argument.
{#- Template note, not rendered. The variables the compiler sets are named
    through the template, never literally: {{ env.username }} renders as
    the name src/scripts/environment.rs declares, so a misspelt name fails
    the build instead of a backup. Inside ${…}, "{{-" drops the blank
    before it: ${ {{- env.previous }}:-0} renders as ${NAME:-0}. #}

set -euo pipefail
umask 077
# The repository Secret reaches the environment: it may not switch bash to
# posix mode (kopiaplan sets every other variable that steers bash).
unset POSIXLY_CORRECT POSIX_PEDANTIC
set +o posix

# Whole seconds since the script started (durationSeconds).
SECONDS=0
RESULT_FILE={{ paths.termination_log }}
KOPIA_PID=
# Set by write_result, read by the EXIT trap (below).
RESULT_WRITTEN=false
# Where fail leaves its message when it runs in a subshell.
FAILURE_NOTE="${HOME:-/tmp}/failure-message"
# The signal that ended the run, if one did.
STOPPED_BY=
# The script's own output and log, for the EXIT trap, which may run while
# a command's output goes to a file.
exec {SCRIPT_STDOUT}>&1 {SCRIPT_STDERR}>&2

log() {
  printf '%s kopiaplan: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}

# JSON string escaping for the few values the result line carries.
json_string() {
  local text=${1//\\/\\\\}
  text=${text//\"/\\\"}
  text=${text//$'\n'/\\n}
  text=${text//$'\r'/\\r}
  text=${text//$'\t'/\\t}
  printf '"%s"' "$text"
}

# write_result RESULT MESSAGE [KEY RAW_JSON_VALUE]...
# One JSON line in the termination message (kubectl get pod -o yaml shows
# it) and in the log.
write_result() {
  local result=$1 message=$2
  shift 2
  local line
  line="{\"result\":$(json_string "$result"),\"operation\":$(json_string "$OPERATION")"
  line+=",\"identity\":$(json_string "${ {{- env.username }}}@${ {{- env.hostname }}}:${ {{- env.source_path }}}")"
  line+=",\"durationSeconds\":$SECONDS"
  RESULT_STATUS=$result
  while [ "$#" -ge 2 ]; do
    line+=",$(json_string "$1"):$2"
    case $1 in
      bytes) RESULT_BYTES=$2 ;;
      files) RESULT_FILES=$2 ;;
    esac
    shift 2
  done
  line+=",\"message\":$(json_string "$message")}"
  printf '%s\n' "$line" >"$RESULT_FILE" 2>/dev/null || true
  printf '%s\n' "$line"
  RESULT_WRITTEN=true
}

# fail MESSAGE [STATUS]: reports a failure and ends the run. In a subshell
# (`$(…)`, a pipeline) it leaves MESSAGE for the main shell's EXIT trap,
# which reports it when the failure ends the script: the line is written
# once, by the main shell, to its own output.
fail() {
  log "error: $1"
  if [ "$BASHPID" != "$$" ]; then
    printf '%s\n' "$1" >"$FAILURE_NOTE" 2>/dev/null || true
    exit "${2:-1}"
  fi
  write_result failure "$1"
  exit "${2:-1}"
}

# Exactly one result line per run. write_result writes it; a script that
# ends without one (set -e, a missing program, a signal) gets a failure
# line from this EXIT trap, and one that wrote its line gets no second.
on_exit() {
  local status=$? command=$BASH_COMMAND
  set +e
  exec 1>&"$SCRIPT_STDOUT" 2>&"$SCRIPT_STDERR"
  # A Kopia still running is stopped, and may finish cleanly: in a pod it
  # would be killed with the script.
  if [ -n "$KOPIA_PID" ]; then
    kill -TERM "$KOPIA_PID" 2>/dev/null
    wait "$KOPIA_PID" 2>/dev/null
  fi
  # A container of the plan's beside this one (stream.sh) is let go.
  if declare -F stream_release >/dev/null; then
    stream_release
  fi
  if [ "$RESULT_WRITTEN" = true ]; then
    push_metrics "$status"
    return 0
  fi
  local message
  if [ -s "$FAILURE_NOTE" ]; then
    message=$(head -n 1 "$FAILURE_NOTE")
  elif [ -n "$STOPPED_BY" ]; then
    message="the mover was stopped by SIG$STOPPED_BY"
  else
    message="the mover stopped at \`$command\` (exit $status) before it reported a result; see the log above"
  fi
  log "error: $message"
  write_result failure "$message"
  [ "$status" -ne 0 ] || status=1
  push_metrics "$status"
  exit "$status"
}
# After every run the EXIT trap pushes the run's
# result to the Pushgateway the plan names (spec.monitoring.pushgateway),
# grouped by namespace, plan, component and entry. POST replaces only the
# gauges it sends: a failed run leaves the last success's gauges in place.
# A push that fails is logged; it never changes the run's result.

# Set by write_result.
RESULT_STATUS=
RESULT_BYTES=
RESULT_FILES=

# push_metrics EXIT_STATUS
push_metrics() {
  local status=$1
  [ -n "${ {{- env.pushgateway_url }}:-}" ] || return 0
  if ! command -v curl >/dev/null 2>&1; then
    log "warning: curl is missing; the run's metrics were not pushed"
    return 0
  fi
  local now success=0 body
  now=$(date +%s)
  [ "$status" -ne 0 ] || success=1
  body="# TYPE {{ metrics.last_run_timestamp }} gauge
{{ metrics.last_run_timestamp }} $now
# TYPE {{ metrics.last_run_success }} gauge
{{ metrics.last_run_success }} $success
# TYPE {{ metrics.last_run_duration }} gauge
{{ metrics.last_run_duration }} $SECONDS
"
  if [ "$success" = 1 ]; then
    body+="# TYPE {{ metrics.last_success_timestamp }} gauge
{{ metrics.last_success_timestamp }} $now
"
  fi
  if [ "$success" = 1 ] && [ "$OPERATION" = backup ] && [ "$RESULT_STATUS" = success ]; then
    body+="# TYPE {{ metrics.last_snapshot_timestamp }} gauge
{{ metrics.last_snapshot_timestamp }} $now
# TYPE {{ metrics.last_snapshot_bytes }} gauge
{{ metrics.last_snapshot_bytes }} ${RESULT_BYTES:-0}
# TYPE {{ metrics.last_snapshot_files }} gauge
{{ metrics.last_snapshot_files }} ${RESULT_FILES:-0}
"
  fi
  local url="${{ env.pushgateway_url }}/namespace/${{ env.namespace }}" error
  if error=$(printf '%s' "$body" | curl --silent --show-error --fail --max-time 10 \
    --retry 2 --data-binary @- "$url" 2>&1); then
    log "pushed the run's metrics to the Pushgateway"
  else
    log "warning: pushing the run's metrics to the Pushgateway failed (${error:-no reason given}); the run's result stands"
  fi
  return 0
}
trap on_exit EXIT
# Signals that end the run; TERM and INT are passed on to Kopia below.
stop_on_signal() {
  STOPPED_BY=$1
  exit "$2"
}
trap 'stop_on_signal HUP 129' HUP
trap 'stop_on_signal QUIT 131' QUIT
trap 'stop_on_signal USR1 138' USR1
trap 'stop_on_signal USR2 140' USR2
trap 'stop_on_signal ALRM 142' ALRM

# Kopia runs in the background so that a SIGTERM sent to this script (the
# container's PID 1) is passed on and Kopia can stop cleanly.
# shellcheck disable=SC2034 # read by the scripts that source this file
TERMINATED=false
# Between Kopia commands, a TERM or INT ends the run at once (a run that
# already reported its result keeps it).
forward_signal() {
  # shellcheck disable=SC2034 # read by the scripts that source this file
  TERMINATED=true
  if [ -n "$KOPIA_PID" ]; then
    kill -TERM "$KOPIA_PID" 2>/dev/null || true
  elif [ "$RESULT_WRITTEN" = false ]; then
    stop_on_signal "$1" "$2"
  fi
}
trap 'forward_signal TERM 143' TERM
trap 'forward_signal INT 130' INT

run_kopia() {
  kopia --file-log-level="${{ env.log_level }}" "$@" &
  KOPIA_PID=$!
  wait_kopia
}

# Waits for the Kopia started in the background as KOPIA_PID and returns its
# status: a signal forwarded to it interrupts `wait`, not Kopia.
wait_kopia() {
  local status=0
  wait "$KOPIA_PID" || status=$?
  while kill -0 "$KOPIA_PID" 2>/dev/null; do
    status=0
    wait "$KOPIA_PID" || status=$?
  done
  KOPIA_PID=
  return "$status"
}

# The credential files (SFTP key, known_hosts, GCS and Drive JSON, rclone
# config) of the storage being connected, and the Secret they come from: the
# repository's. A replica's mover points both at its destination's while it
# works on the destination, so neither side ever reads the other's files.
CREDENTIAL_FILES_DIR="{{ paths.credentials }}"
CREDENTIALS_SECRET="the repository Secret"

# Kopia's cache and logs live on the cache volume, its config (which holds
# the storage credentials Kopia was given) in memory; the root filesystem is
# read-only.
prepare_directories() {
  mkdir -p "$(dirname "$KOPIA_CONFIG_PATH")" "$KOPIA_CACHE_DIRECTORY" "$KOPIA_LOG_DIR"
  # Secret keys that hold file contents arrive as environment variables too;
  # tools expect a path there, so point them at the mounted file instead.
  unset GOOGLE_APPLICATION_CREDENTIALS GOOGLE_DRIVE_CREDENTIALS SFTP_KEY_FILE RCLONE_CONFIG
  unset SFTP_KNOWN_HOSTS SFTP_KNOWN_HOSTS_DATA
  if [ -f "$CREDENTIAL_FILES_DIR/gcs.json" ]; then
    export GOOGLE_APPLICATION_CREDENTIALS="$CREDENTIAL_FILES_DIR/gcs.json"
  fi
  if [ -n "${ {{- env.custom_ca }}:-}" ]; then
    # The custom CA is added to the system roots, for every HTTPS backend.
    cat /etc/ssl/certs/ca-certificates.crt "${{ env.custom_ca }}" >"$HOME/ca-bundle.pem" 2>/dev/null ||
      cat "${{ env.custom_ca }}" >"$HOME/ca-bundle.pem"
    export SSL_CERT_FILE="$HOME/ca-bundle.pem"
  fi
}

# Storage flags for `kopia repository connect|create <backend>`. The flags
# the repository URL gives come from the compiler ({{ env.storage_flags }}, one
# per line, from src/kopia/backend.rs) when the plan names the URL, or from
# url_storage_flags, the same rules at run time, when only the Secret's
# KOPIA_REPOSITORY does. The Secret's backend keys then override or add to
# them. Credentials stay in Kopia's own environment variables; no flag is
# passed empty.
STORAGE_ARGS=()
BACKEND=
# The `kopia repository connect|create` provider: the backend, or
# from-config for a connection token.
STORAGE_PROVIDER=
storage_arguments() {
  local url=${KOPIA_REPOSITORY:-}
  [ -n "$url" ] || fail "KOPIA_REPOSITORY is not set: put it in the repository Secret or the plan's repository url"
  BACKEND=${url%%:*}
  local rest=${url#*:}
  rest=${rest#//}
  # kopiaplan refuses these at compile time when it sees the URL.
  case "${rest%%/*}" in *:*@*) fail "the repository URL holds a password: put it into its own key of the repository Secret" ;; esac
  [[ "$rest" != *\?* ]] || fail "the repository URL has a query (?…): put credentials into their own keys of the repository Secret"
  if [ -n "${ {{- env.storage_flags }}:-}" ]; then
    mapfile -t STORAGE_ARGS <<<"${{ env.storage_flags }}"
  else
    url_storage_flags "$rest"
  fi
  local ignored_prefix=
  if [ "${{ env.layout }}" = VolSync ]; then
    volsync_layout
  fi
  STORAGE_PROVIDER=$BACKEND
  local no_bucket="the repository URL names no bucket or container: use $BACKEND://bucket/prefix"
  case "$BACKEND" in
    s3)
      override_flag --bucket "${KOPIA_S3_BUCKET:-}"
      require_flag --bucket "$no_bucket"
      local endpoint=${AWS_S3_ENDPOINT:-${KOPIA_S3_ENDPOINT:-}}
      case "$endpoint" in
        http://*) STORAGE_ARGS+=(--endpoint="${endpoint#http://}" --disable-tls) ;;
        https://*) STORAGE_ARGS+=(--endpoint="${endpoint#https://}") ;;
        "") ;;
        *) STORAGE_ARGS+=(--endpoint="$endpoint") ;;
      esac
      case "${KOPIA_S3_DISABLE_TLS:-${AWS_S3_DISABLE_TLS:-}}" in
        true | TRUE | True | 1)
          [[ " ${STORAGE_ARGS[*]} " == *" --disable-tls "* ]] || STORAGE_ARGS+=(--disable-tls)
          ;;
      esac
      local region=${KOPIA_S3_REGION:-${AWS_REGION:-${AWS_DEFAULT_REGION:-}}}
      [ -z "$region" ] || STORAGE_ARGS+=(--region="$region")
      [ -z "${ {{- env.custom_ca }}:-}" ] || STORAGE_ARGS+=(--root-ca-pem-path="${{ env.custom_ca }}")
      ;;
    gcs)
      override_flag --bucket "${KOPIA_GCS_BUCKET:-${GCS_BUCKET:-}}"
      require_flag --bucket "$no_bucket"
      if [ -f "$CREDENTIAL_FILES_DIR/gcs.json" ]; then
        STORAGE_ARGS+=(--credentials-file="$CREDENTIAL_FILES_DIR/gcs.json")
      fi
      ;;
    azure)
      override_flag --container "${KOPIA_AZURE_CONTAINER:-}"
      require_flag --container "$no_bucket"
      # VolSync's alternative key names, as Kopia's own variables.
      export AZURE_STORAGE_ACCOUNT="${AZURE_STORAGE_ACCOUNT:-${KOPIA_AZURE_STORAGE_ACCOUNT:-${AZURE_ACCOUNT_NAME:-}}}"
      export AZURE_STORAGE_KEY="${AZURE_STORAGE_KEY:-${KOPIA_AZURE_STORAGE_KEY:-${AZURE_ACCOUNT_KEY:-}}}"
      export AZURE_STORAGE_SAS_TOKEN="${AZURE_STORAGE_SAS_TOKEN:-${AZURE_ACCOUNT_SAS:-}}"
      [ -n "$AZURE_STORAGE_KEY" ] || unset AZURE_STORAGE_KEY
      [ -n "$AZURE_STORAGE_SAS_TOKEN" ] || unset AZURE_STORAGE_SAS_TOKEN
      if [ -n "${AZURE_ENDPOINT_SUFFIX:-}" ]; then
        STORAGE_ARGS+=(--storage-domain="blob.${AZURE_ENDPOINT_SUFFIX}")
      fi
      ;;
    b2)
      override_flag --bucket "${KOPIA_B2_BUCKET:-}"
      require_flag --bucket "$no_bucket"
      # VolSync's key names, as Kopia's own variables.
      export B2_KEY_ID="${B2_KEY_ID:-${B2_ACCOUNT_ID:-}}"
      export B2_KEY="${B2_KEY:-${B2_APPLICATION_KEY:-}}"
      ;;
    webdav)
      # webdav://host/path is served over HTTPS; WEBDAV_URL (VolSync's key)
      # may give a full URL instead, http:// included.
      override_flag --url "${WEBDAV_URL:-}"
      require_flag --url "the webdav URL names no server: use webdav://host/path"
      # VolSync's key names, as Kopia's own variables.
      [ -z "${WEBDAV_USERNAME:-}" ] || export KOPIA_WEBDAV_USERNAME="${KOPIA_WEBDAV_USERNAME:-$WEBDAV_USERNAME}"
      [ -z "${WEBDAV_PASSWORD:-}" ] || export KOPIA_WEBDAV_PASSWORD="${KOPIA_WEBDAV_PASSWORD:-$WEBDAV_PASSWORD}"
      ;;
    sftp)
      # sftp://user@host:port/path; VolSync's SFTP_* keys win.
      override_flag --host "${SFTP_HOST:-}"
      override_flag --username "${SFTP_USERNAME:-}"
      override_flag --path "${SFTP_PATH:-}"
      override_flag --port "${SFTP_PORT:-}"
      require_flag --host "the sftp URL names no host: use sftp://user@host/path"
      require_flag --username "the sftp URL names no user: use sftp://user@host/path"
      require_flag --path "the sftp URL names no path: use sftp://user@host/path"
      local known_hosts
      if [ -f "$CREDENTIAL_FILES_DIR/known_hosts" ]; then
        known_hosts="$CREDENTIAL_FILES_DIR/known_hosts"
      elif [ -f "$CREDENTIAL_FILES_DIR/known_hosts_data" ]; then
        known_hosts="$CREDENTIAL_FILES_DIR/known_hosts_data"
      else
        fail "sftp needs the server's host key: add SFTP_KNOWN_HOSTS (a known_hosts file) to $CREDENTIALS_SECRET"
      fi
      STORAGE_ARGS+=(--known-hosts="$known_hosts")
      if [ -f "$CREDENTIAL_FILES_DIR/sftp_key" ]; then
        STORAGE_ARGS+=(--keyfile="$CREDENTIAL_FILES_DIR/sftp_key")
      elif [ -n "${SFTP_PASSWORD:-}" ]; then
        local port
        port=$(flag_value --port)
        sftp_password_token "$(flag_value --host)" "${port:-22}" "$(flag_value --username)" "$(flag_value --path)" "$known_hosts"
      else
        fail "sftp needs a key (SFTP_KEY_FILE) or a password (SFTP_PASSWORD) in $CREDENTIALS_SECRET"
      fi
      ;;
    rclone)
      override_flag --remote-path "${RCLONE_REMOTE_PATH:-}"
      require_flag --remote-path "the rclone URL names no remote: use rclone://remote:path"
      [ -z "${RCLONE_EXE:-}" ] || STORAGE_ARGS+=(--rclone-exe="$RCLONE_EXE")
      # rclone's configuration file, named on rclone's command line: Kopia
      # keeps the argument in this storage's config, and rclone prefers it
      # to RCLONE_CONFIG, which is never set (a replica's other side would
      # inherit it).
      unset RCLONE_CONFIG
      if [ -f "$CREDENTIAL_FILES_DIR/rclone.conf" ]; then
        STORAGE_ARGS+=(--rclone-args=--config="$CREDENTIAL_FILES_DIR/rclone.conf")
      fi
      ;;
    gdrive)
      override_flag --folder-id "${GOOGLE_DRIVE_FOLDER_ID:-}"
      require_flag --folder-id "the gdrive URL names no folder: use gdrive://FOLDER_ID"
      if [ -f "$CREDENTIAL_FILES_DIR/gdrive.json" ]; then
        STORAGE_ARGS+=(--credentials-file="$CREDENTIAL_FILES_DIR/gdrive.json")
      fi
      ;;
    filesystem)
      require_flag --path "the filesystem URL names no path: use filesystem:///path"
      ;;
    *)
      fail "the repository backend '$BACKEND' is not one kopiaplan knows: use s3, gcs, azure, b2, webdav, sftp, rclone, gdrive or filesystem"
      ;;
  esac
  if [ -n "$ignored_prefix" ]; then
    local bucket
    bucket=$(flag_value --bucket)$(flag_value --container)
    log "the repository is at the root of the $BACKEND bucket $bucket, where VolSync's mover put it: VolSync ignored the path '${ignored_prefix%/}' of KOPIA_REPOSITORY. To keep a repository under that prefix instead, convert to a BackupPlan (kopiaplan convert) and set the repository's layout: Url"
  fi
}

# VolSync's layout (`layout: VolSync`, every VolSync object): the backend
# the Secret's keys select, in the order VolSync's mover tested them, and
# GCS, B2 and Azure at the root of their bucket or container, whatever path
# KOPIA_REPOSITORY has: VolSync never made it a prefix. S3 keeps the URL's
# path as its prefix, as VolSync did. Sets ignored_prefix (a local of
# storage_arguments) to the prefix it dropped.
volsync_layout() {
  local scheme=$BACKEND chosen
  chosen=$(volsync_backend "$scheme")
  if [ -n "$chosen" ] && [ "$chosen" != "$scheme" ]; then
    log "the repository Secret's keys select the $chosen backend, as they did for VolSync's mover; KOPIA_REPOSITORY ($scheme) is not used"
    BACKEND=$chosen
    STORAGE_ARGS=()
  fi
  case "$BACKEND" in
    gcs | azure | b2)
      ignored_prefix=$(flag_value --prefix)
      [ -z "$ignored_prefix" ] || drop_flag --prefix
      ;;
  esac
}

# volsync_backend SCHEME: the backend VolSync's mover chose, first match
# wins (kopia::backend::VOLSYNC_BACKEND_ORDER, held to this by a test);
# nothing where VolSync found none.
volsync_backend() {
  local scheme=$1
  if [ -n "${KOPIA_S3_BUCKET:-}" ] || [ "$scheme" = s3 ]; then
    echo s3
  elif [ -n "${KOPIA_AZURE_CONTAINER:-}" ]; then
    echo azure
  elif [ -n "${KOPIA_GCS_BUCKET:-}" ]; then
    echo gcs
  elif [ "$scheme" = filesystem ]; then
    echo filesystem
  elif [ -n "${KOPIA_B2_BUCKET:-}" ]; then
    echo b2
  elif [ -n "${WEBDAV_URL:-}" ]; then
    echo webdav
  elif [ -n "${SFTP_HOST:-}" ]; then
    echo sftp
  elif [ -n "${RCLONE_REMOTE_PATH:-}" ]; then
    echo rclone
  elif [ -n "${GOOGLE_DRIVE_FOLDER_ID:-}" ]; then
    echo gdrive
  fi
}

# drop_flag --name: removes --name=… from STORAGE_ARGS.
drop_flag() {
  local kept=() flag
  for flag in "${STORAGE_ARGS[@]}"; do
    [[ "$flag" == "$1="* ]] || kept+=("$flag")
  done
  STORAGE_ARGS=("${kept[@]}")
}

# url_storage_flags REST: the flags of a URL whose scheme is $BACKEND, from
# REST, the part after `scheme://`; kopia::backend::storage_flags is the
# same function, and a test holds the two to each other.
url_storage_flags() {
  local rest=$1
  STORAGE_ARGS=()
  case "$BACKEND" in
    s3 | gcs | b2) bucket_and_prefix "$rest" --bucket ;;
    azure) bucket_and_prefix "$rest" --container ;;
    webdav) [ -z "$rest" ] || STORAGE_ARGS=(--url="https://$rest") ;;
    sftp)
      local authority=${rest%%/*} path=/${rest#*/} user='' port=''
      [ "$authority" != "$rest" ] || path=
      if [[ "$authority" == *@* ]]; then user=${authority%%@*}; authority=${authority#*@}; fi
      if [[ "$authority" == *:* ]]; then port=${authority##*:}; authority=${authority%:*}; fi
      [ -z "$authority" ] || STORAGE_ARGS+=(--host="$authority")
      [ -z "$user" ] || STORAGE_ARGS+=(--username="$user")
      [ -z "$path" ] || STORAGE_ARGS+=(--path="$path")
      [ -z "$port" ] || STORAGE_ARGS+=(--port="$port")
      ;;
    rclone) [ -z "$rest" ] || STORAGE_ARGS=(--remote-path="$rest") ;;
    gdrive) [ -z "${rest%%/*}" ] || STORAGE_ARGS=(--folder-id="${rest%%/*}") ;;
    filesystem) [ -z "$rest" ] || STORAGE_ARGS=(--path="/${rest#/}") ;;
  esac
}

# override_flag --name VALUE: the Secret's VALUE replaces the URL's
# --name=…, or is added; an empty VALUE changes nothing.
override_flag() {
  local name=$1 value=$2 index
  [ -n "$value" ] || return 0
  for index in "${!STORAGE_ARGS[@]}"; do
    if [[ "${STORAGE_ARGS[index]}" == "$name="* ]]; then
      STORAGE_ARGS[index]="$name=$value"
      return 0
    fi
  done
  STORAGE_ARGS+=("$name=$value")
}

# flag_value --name: the value of --name=… in STORAGE_ARGS, or nothing.
flag_value() {
  local flag
  for flag in "${STORAGE_ARGS[@]}"; do
    if [[ "$flag" == "$1="* ]]; then
      printf '%s' "${flag#"$1="}"
      return 0
    fi
  done
}

# require_flag --name MESSAGE: fails with MESSAGE unless --name has a value.
require_flag() {
  [ -n "$(flag_value "$1")" ] || fail "$2"
}

# Kopia 0.23.1 reads the SFTP password only from --sftp-password (no
# environment variable; @file arguments are turned off), and a command line
# is world-readable in /proc. So the storage goes into a connection token
# file in the memory-backed config directory, and Kopia connects with
# `repository connect|create from-config --token-file=…`.
sftp_password_token() {
  local host=$1 port=$2 user=$3 path=$4 known_hosts=$5
  [[ "$port" =~ ^[0-9]+$ ]] || fail "the sftp port must be a number, not $port"
  local token_file
  token_file="$(dirname "$KOPIA_CONFIG_PATH")/sftp-connection.token"
  local json="{\"version\":\"1\",\"storage\":{\"type\":\"sftp\",\"config\":{"
  json+="\"path\":$(json_string "$path"),\"host\":$(json_string "$host"),\"port\":$port"
  json+=",\"username\":$(json_string "$user"),\"password\":$(json_string "$SFTP_PASSWORD")"
  json+=",\"knownHostsFile\":$(json_string "$known_hosts")}}}"
  mkdir -p "$(dirname "$token_file")"
  printf '%s' "$json" | base64 -w 0 | tr '+/' '-_' | tr -d '=' >"$token_file"
  STORAGE_PROVIDER=from-config
  STORAGE_ARGS=(--token-file="$token_file")
}

# bucket_and_prefix "bucket/some/prefix" BUCKET_FLAG: the URL's flags of
# the object stores that have buckets (Azure: containers) and prefixes.
bucket_and_prefix() {
  local rest=$1 bucket=${1%%/*} prefix=
  [ "$rest" = "$bucket" ] || prefix=${rest#*/}
  [ -z "$bucket" ] || STORAGE_ARGS+=("$2=$bucket")
  prefix=$(normalize_prefix "$prefix")
  [ -z "$prefix" ] || STORAGE_ARGS+=(--prefix="$prefix")
}

# S3 prefixes are directories: no leading or doubled slashes, one trailing.
normalize_prefix() {
  local prefix=$1
  while [[ "$prefix" == *//* ]]; do prefix=${prefix//\/\//\/}; done
  prefix=${prefix#/}
  prefix=${prefix%/}
  [ -z "$prefix" ] || printf '%s/' "$prefix"
}

# Repository settings of `policyConfig` (VolSync's "repository config"):
# the plan's inline values, else the mounted file's. Only enableActions,
# uploadSpeed and downloadSpeed mean anything; a file with another key fails
# the run, as kopiaplan refuses one at compile time when it can see it.
REPOSITORY_SETTINGS=()
# shellcheck disable=SC2034 # read by the scripts that source this file
ACTIONS_ENABLED=true
repository_settings() {
  local enable=${ {{- env.enable_actions }}:-} upload=${ {{- env.upload_speed }}:-}
  local download=${ {{- env.download_speed }}:-} file=${ {{- env.repository_config_file }}:-}
  if [ -n "$file" ] && [ -f "$file" ]; then
    local json key
    json=$(tr -d ' \t\r\n' <"$file")
    while IFS= read -r key; do
      case "$key" in
        enableActions | uploadSpeed | downloadSpeed) ;;
        *) fail "the repository settings in $file have the key \"$key\"; only enableActions, uploadSpeed and downloadSpeed are read" ;;
      esac
    done < <(printf '%s' "$json" | grep -o '"[^"]*":' | sed 's/^"//; s/":$//')
    [ -n "$enable" ] || enable=$(settings_value "$json" enableActions)
    [ -n "$upload" ] || upload=$(settings_value "$json" uploadSpeed)
    [ -n "$download" ] || download=$(settings_value "$json" downloadSpeed)
    log "repository settings from $file"
  fi
  # shellcheck disable=SC2034 # ACTIONS_ENABLED is read by backup.sh
  case "$enable" in
    true) REPOSITORY_SETTINGS+=(--enable-actions) ;;
    false) ACTIONS_ENABLED=false ;;
    "") ;;
    *) fail "enableActions in the repository settings must be true or false, not $enable" ;;
  esac
  local speed
  for speed in "$upload" "$download"; do
    [[ -z "$speed" || "$speed" =~ ^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$ ]] ||
      fail "a speed in the repository settings must be a number of bytes per second, not $speed"
  done
  [ -z "$upload" ] || REPOSITORY_SETTINGS+=(--max-upload-speed="$upload")
  [ -z "$download" ] || REPOSITORY_SETTINGS+=(--max-download-speed="$download")
}

# The raw value of a top-level key of flat JSON written without blanks.
settings_value() {
  printf '%s' "$1" | sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p"
}

# connect_repository [IfMissing|Never]: connects to the repository; creates
# it only when Kopia reports that the storage holds no repository and the
# caller allows creation (only backups do). Any other
# failure (credentials, network, TLS, a mistyped prefix that does hold
# something else) fails the run.
connect_repository() {
  local create_policy=${1:-Never}
  storage_arguments
  repository_settings
  local common=(
    --override-username="${{ env.username }}"
    --override-hostname="${{ env.hostname }}"
    --content-cache-size-limit-mb="${{ env.content_cache_mb }}"
    --metadata-cache-size-limit-mb="${{ env.metadata_cache_mb }}"
    --no-check-for-updates
  )
  # A fresh filesystem repository (a new PVC) has no directory yet, and
  # Kopia reports a missing path as an access error, not as "not
  # initialized": make the directory when creation is allowed.
  if [ "$BACKEND" = filesystem ] && [ "$create_policy" = IfMissing ]; then
    local directory
    directory=$(flag_value --path)
    mkdir -p "$directory" || fail "could not make the repository directory $directory"
  fi
  # Output goes to a file, not a command substitution, so that Kopia stays
  # a child of this shell and receives a forwarded SIGTERM.
  local output="$HOME/connect.log" status=0
  run_kopia repository connect "$STORAGE_PROVIDER" "${STORAGE_ARGS[@]}" "${REPOSITORY_SETTINGS[@]}" "${common[@]}" >"$output" 2>&1 || status=$?
  cat "$output" >&2
  if [ "$status" -eq 0 ]; then
    log "connected to the existing repository"
    apply_throttle
    return 0
  fi
  if grep -q "repository not initialized in the provided storage" "$output"; then
    if [ "$create_policy" != "IfMissing" ]; then
      fail "the storage holds no repository, and this run does not create one (create: $create_policy)"
    fi
    log "the storage holds no repository: creating one"
    local creation=() parameters=()
    flag_lines creation "${ {{- env.create_flags }}:-}"
    flag_lines parameters "${ {{- env.parameter_flags }}:-}"
    [ -z "${creation[*]}" ] || log "creating it with ${creation[*]}"
    run_kopia repository create "$STORAGE_PROVIDER" "${STORAGE_ARGS[@]}" "${creation[@]}" "${REPOSITORY_SETTINGS[@]}" "${common[@]}" ||
      fail "could not create the repository"
    # Epoch parameters exist only once the repository does.
    if [ -n "${parameters[*]}" ]; then
      run_kopia repository set-parameters "${parameters[@]}" ||
        fail "could not set the new repository's parameters (${parameters[*]})"
      log "set the new repository's parameters: ${parameters[*]}"
    fi
    apply_throttle
    return 0
  fi
  fail "could not connect to the repository (exit $status); see the log above"
}

# flag_lines NAME TEXT: the caller's empty array NAME gets TEXT's lines
# (compiler-made flags, one per line), none when TEXT is empty.
flag_lines() {
  [ -z "$2" ] || mapfile -t "$1" <<<"$2"
}

# The repository's throttle, set on every run: Kopia keeps it in the
# connection's config, which lives only as long as the pod.
apply_throttle() {
  local throttle=()
  flag_lines throttle "${ {{- env.throttle_flags }}:-}"
  [ -n "${throttle[*]}" ] || return 0
  run_kopia repository throttle set "${throttle[@]}" >&2 ||
    fail "could not set the repository's throttle (${throttle[*]})"
  log "throttle set: ${throttle[*]}"
}

# json_fields KEY...: for each line of compact JSON on stdin, the values of
# the keys named, separated by the unit separator (\037; empty where a key is
# missing). Kopia writes its JSON lists compactly, one object per line
# (cli/json_output.go), and JSON escapes every quote inside a string, so
# `"key":` right after `{` or `,` can only begin a member: keys are found
# wherever they stand, in any order. Blanks around a key are allowed, for a
# manifest a plan asked to indent (`--json-indent`), joined into one line.
# Strings are unescaped; other values are printed as written.
json_fields() {
  awk -v keys="$*" '
    function unescape(s,   out, c) {
      out = ""
      while (s != "") {
        c = substr(s, 1, 1)
        if (c != "\\") { out = out c; s = substr(s, 2); continue }
        c = substr(s, 2, 1)
        if (c == "u") {
          c = tolower(substr(s, 3, 4))
          if (c == "0026") out = out "&"
          else if (c == "003c") out = out "<"
          else if (c == "003e") out = out ">"
          else out = out "\\u" c
          s = substr(s, 7)
          continue
        }
        # Control characters stay escaped: a record is one line.
        if (index("ntrbf", c)) out = out "\\" c
        else out = out c
        s = substr(s, 3)
      }
      return out
    }
    function value(line, key,   rest) {
      if (!match(line, "[{,][ \t]*\"" key "\"[ \t]*:[ \t]*")) return ""
      rest = substr(line, RSTART + RLENGTH)
      if (match(rest, /^"([^"\\]|\\.)*"/)) return unescape(substr(rest, 2, RLENGTH - 2))
      if (match(rest, /^[^,}\] \t]*/)) return substr(rest, 1, RLENGTH)
      return ""
    }
    BEGIN { count = split(keys, names, " ") }
    {
      out = value($0, names[1])
      for (i = 2; i <= count; i++) out = out "\037" value($0, names[i])
      print out
    }'
}

# Prints one line per complete snapshot in Kopia's `snapshot list --json`
# output: ID, start time and source (user@host:path), tab-separated.
# Snapshots Kopia did not finish are listed there too, marked "incomplete"
# (a run that was stopped keeps what it had uploaded): they are skipped, as
# they hold part of the volume at most.
snapshot_records() {
  local id start user host path incomplete
  while IFS=$'\037' read -r id start user host path incomplete; do
    if [ -z "$id" ] || [ -n "$incomplete" ]; then continue; fi
    printf '%s\t%s\t%s@%s:%s\n' "$id" "$start" "$user" "$host" "$path"
  done < <(json_fields id startTime userName host path incomplete <"$1")
}

# The snapshots of exactly one source, newest first, as
# "nanoseconds<TAB>id" lines. An optional bound (nanoseconds since the
# epoch) keeps only snapshots started at or before it: times are compared
# as instants, whatever offset they were written with.
snapshots_of() {
  local list=$1 source=$2 bound=${3:-}
  local id start found nanos
  while IFS=$'\t' read -r id start found; do
    [ "$found" = "$source" ] || continue
    nanos=$(date -u -d "$start" +%s%N) || fail "Kopia reported a start time that cannot be read: $start"
    if [ -n "$bound" ] && [ "$nanos" -gt "$bound" ]; then
      continue
    fi
    printf '%s\t%s\n' "$nanos" "$id"
  done < <(snapshot_records "$list") | sort -r -n
}

# The sources that do have snapshots, as a JSON array (at most 20), and
# one log line each: what a person needs when the expected one is missing.
# Only this hostname's (namespace's) sources, unless the plan lists all
# ({{ env.list_all_hostnames }}): a shared repository does not reveal other
# tenants' sources.
# shellcheck disable=SC2034 # read by the scripts that source this file
AVAILABLE_IDENTITIES='[]'
list_identities() {
  local all="$HOME/all-snapshots.json" status=0
  run_kopia snapshot list --all --json >"$all" || status=$?
  if [ "$status" -ne 0 ]; then
    log "warning: could not list the repository's snapshots (exit $status)"
    return 0
  fi
  local sources source json='' count=0
  sources=$(snapshot_records "$all" | cut -f3 | sort -u)
  if [ -z "$sources" ]; then
    log "the repository holds no snapshots at all"
  fi
  local host other_hosts=false
  while IFS= read -r source; do
    [ -n "$source" ] || continue
    host=${source#*@}
    host=${host%%:*}
    if [ "${{ env.list_all_hostnames }}" != true ] && [ "$host" != "${{ env.hostname }}" ]; then
      other_hosts=true
      continue
    fi
    log "available: $source"
    count=$((count + 1))
    if [ "$count" -le 20 ]; then
      json+="${json:+,}$(json_string "$source")"
    fi
  done <<<"$sources"
  if [ "$other_hosts" = true ]; then
    log "sources of other hostnames than ${{ env.hostname }} are not listed"
  fi
  # shellcheck disable=SC2034 # read by the scripts that source this file
  AVAILABLE_IDENTITIES="[$json]"
}
