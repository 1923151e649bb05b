#!/bin/bash
# kopiaplan replica mover. copy: the repository to its destination, as the
# repository's maintenance owner; seed (disaster recovery): the replica
# back into the repository, new and empty. Blobs: `kopia repository
# sync-to` (one repository in two places, one password); Snapshots: `kopia
# snapshot migrate` into a repository of its own. Then the side copied to
# is opened on its own and reports what it holds.
# Rendered by kopiaplan from templates/replica.sh.
OPERATION=replica
# shellcheck source=common.sh
source "{{ paths.scripts }}/common.sh"

mode=${ {{- env.replica_mode }}}
direction=${ {{- env.replica_direction }}}
prepare_directories
config_dir=$(dirname "$KOPIA_CONFIG_PATH")
# Each side has its own config and cache: Kopia caches a repository's
# format blob in its cache directory, and one side's would not open the
# other. Each config records its cache directory, and KOPIA_CACHE_DIRECTORY
# would override both: it is set only to connect.
cache_base=$KOPIA_CACHE_DIRECTORY
unset KOPIA_CACHE_DIRECTORY
side_cache=

# The destination's credentials arrive with the prefix
# {{ replica.destination_prefix }}, the repository's without: no key collides. Kopia
# reads a side's backend keys when it connects (and keeps them in that
# side's config), so switching sides replaces every backend key by the
# other side's key of the same name, or unsets it.
# Credential files are mounted once per side: the repository's at
# {{ paths.credentials }}, the destination's at {{ paths.replica_credentials }}.
# Each side's flags name its own files (--keyfile, --known-hosts,
# --credentials-file, rclone's --config), and Kopia keeps them in that
# side's config. No variable names a file: `sync-to` opens both sides in
# one process, and Google's default credentials would read one side's
# GOOGLE_APPLICATION_CREDENTIALS for the other. The destination's file
# contents are not needed as variables either.
unset GOOGLE_APPLICATION_CREDENTIALS RCLONE_CONFIG
for key in {{ replica.credential_file_keys }}; do unset "{{ replica.destination_prefix }}$key"; done
declare -A repository_keys=()
for key in {{ replica.backend_keys }}; do
  [ -z "${!key+set}" ] || repository_keys[$key]=${!key}
done
repository_password=${KOPIA_PASSWORD:-}
repository_flags=${ {{- env.storage_flags }}}
repository_ca=${ {{- env.custom_ca }}}
repository_layout=${ {{- env.layout }}}

use_repository() {
  local key
  for key in {{ replica.backend_keys }}; do unset "$key"; done
  for key in "${!repository_keys[@]}"; do export "$key=${repository_keys[$key]}"; done
  export KOPIA_PASSWORD=$repository_password
  {{ env.storage_flags }}=$repository_flags
  {{ env.custom_ca }}=$repository_ca
  {{ env.layout }}=$repository_layout
  export KOPIA_CONFIG_PATH="$config_dir/repository.config"
  CREDENTIAL_FILES_DIR="{{ paths.credentials }}"
  CREDENTIALS_SECRET="the repository Secret"
  side_cache=$cache_base
}

use_destination() {
  local key prefixed
  for key in {{ replica.backend_keys }}; do
    prefixed="{{ replica.destination_prefix }}$key"
    unset "$key"
    [ -z "${!prefixed+set}" ] || export "$key=${!prefixed}"
  done
  # Blobs: one repository, one password. Snapshots: the destination's own.
  export KOPIA_PASSWORD=$repository_password
  if [ "$mode" = Snapshots ]; then
    prefixed="{{ replica.destination_prefix }}KOPIA_PASSWORD"
    [ -n "${!prefixed:-}" ] || fail "the destination Secret has no KOPIA_PASSWORD (a Snapshots replica is a repository of its own)"
    export KOPIA_PASSWORD="${!prefixed}"
  fi
  [ -z "${ {{- env.replica_url }}}" ] || export KOPIA_REPOSITORY="${ {{- env.replica_url }}}"
  {{ env.storage_flags }}=${ {{- env.replica_storage_flags }}}
  {{ env.custom_ca }}=
  {{ env.layout }}=Url
  {{ env.repository_config_file }}=
  export KOPIA_CONFIG_PATH="$config_dir/destination.config"
  CREDENTIAL_FILES_DIR="{{ paths.replica_credentials }}"
  CREDENTIALS_SECRET="the replica's destination Secret"
  side_cache="$cache_base-destination"
}

if [ "$direction" = seed ]; then
  from_side=use_destination to_side=use_repository
else
  from_side=use_repository to_side=use_destination
fi

# The side copied from. Snapshots: `snapshot migrate` opens it by its
# config file and reads its password from beside it (a file in the
# memory-backed config directory): the other side's is in KOPIA_PASSWORD.
$from_side
[ "$mode" != Snapshots ] || export KOPIA_PERSIST_CREDENTIALS_ON_CONNECT=true
KOPIA_CACHE_DIRECTORY=$side_cache connect_repository Never
export KOPIA_PERSIST_CREDENTIALS_ON_CONNECT=false
from_config=$KOPIA_CONFIG_PATH

$to_side
if [ "$mode" = Blobs ]; then
  storage_arguments
  # A new filesystem side (a fresh claim) has no directory yet.
  if [ "$BACKEND" = filesystem ]; then
    mkdir -p "$(flag_value --path)" || fail "could not make the directory $(flag_value --path)"
  fi
  sync_flags=()
  [ "${ {{- env.delete_extra }}}" != true ] || [ "$direction" = seed ] || sync_flags+=(--delete)
  log "copying the repository's blobs ($direction) to $BACKEND ${sync_flags[*]}"
  status=0
  KOPIA_CONFIG_PATH=$from_config run_kopia repository sync-to "$STORAGE_PROVIDER" "${STORAGE_ARGS[@]}" "${sync_flags[@]}" >&2 || status=$?
  [ "$status" -eq 0 ] || fail "kopia repository sync-to failed (exit $status)" "$status"
  KOPIA_CACHE_DIRECTORY=$side_cache connect_repository Never
else
  KOPIA_CACHE_DIRECTORY=$side_cache connect_repository IfMissing
  log "migrating every snapshot ($direction)"
  status=0
  # Kopia reads a persisted password only when persistence is on.
  KOPIA_PERSIST_CREDENTIALS_ON_CONNECT=true run_kopia snapshot migrate --source-config="$from_config" --all >&2 || status=$?
  [ "$status" -eq 0 ] || fail "kopia snapshot migrate failed (exit $status)" "$status"
fi

# Verify: the side copied to, opened on its own, lists its snapshots and blobs.
list="$HOME/copied-snapshots.json"
run_kopia snapshot list --all --json >"$list" || fail "could not list the snapshots copied"
snapshots=$(json_fields id <"$list" | grep -c . || true)
blob_out=$(run_kopia blob stats --raw) || fail "could not read the blob statistics of the side copied to"
blobs=$(printf '%s\n' "$blob_out" | sed -n 's/^Count: *\([0-9][0-9]*\)$/\1/p' | head -n 1)
log "the side copied to holds $snapshots snapshots in ${blobs:-?} blobs"
write_result success "$mode $direction done: $snapshots snapshots" \
  mode "$(json_string "$mode")" direction "$(json_string "$direction")" \
  snapshotCount "$snapshots" blobCount "${blobs:-null}"
