#!/bin/bash
# kopiaplan replica mover: copy the repository to its destination as the
# repository's maintenance owner. Blobs: `kopia repository sync-to` (the
# same repository in a second place); Snapshots: `kopia snapshot migrate`
# into a repository of the destination's own. Then connect to the
# destination and report what it holds.
# Rendered by kopiaplan from templates/replica.sh.
OPERATION=replica
# shellcheck source=common.sh
source "{{ paths.scripts }}/common.sh"

mode=${ {{- env.replica_mode }}}
prepare_directories
# Snapshots: `snapshot migrate` opens the source by its config file and
# reads its password from beside it (a file in the memory-backed config
# directory), since KOPIA_PASSWORD is the destination's by then.
if [ "$mode" = Snapshots ]; then
  export KOPIA_PERSIST_CREDENTIALS_ON_CONNECT=true
fi
connect_repository Never
export KOPIA_PERSIST_CREDENTIALS_ON_CONNECT=false
source_config=$KOPIA_CONFIG_PATH

# The destination's credentials arrive with the prefix
# {{ replica.destination_prefix }}: the source's backend keys, read by Kopia when it
# connected (and kept in its config), are replaced by the destination's
# keys of the same names, so no key of one backend reaches the other.
for key in {{ replica.backend_keys }}; do
  prefixed="{{ replica.destination_prefix }}$key"
  unset "$key"
  if [ -n "${!prefixed+set}" ]; then
    export "$key=${!prefixed}"
  fi
done
# Blobs: one repository, one password. Snapshots: the destination's own.
if [ "$mode" = Snapshots ]; then
  prefixed="{{ replica.destination_prefix }}KOPIA_PASSWORD"
  [ -n "${!prefixed:-}" ] || fail "the destination Secret has no KOPIA_PASSWORD (a Snapshots replica is a repository of its own)"
  export KOPIA_PASSWORD="${!prefixed}"
fi
if [ -n "${ {{- env.replica_url }}}" ]; then
  export KOPIA_REPOSITORY="${ {{- env.replica_url }}}"
fi
{{ env.storage_flags }}=${ {{- env.replica_storage_flags }}}
{{ env.custom_ca }}=
{{ env.layout }}=Url
{{ env.repository_config_file }}=
# The destination gets its own config and cache: Kopia caches a
# repository's format blob in its cache directory, and the source's would
# not open the destination. Each config records its cache directory, and
# KOPIA_CACHE_DIRECTORY would override both: it is set only to connect.
destination_cache="$KOPIA_CACHE_DIRECTORY-destination"
unset KOPIA_CACHE_DIRECTORY
export KOPIA_CONFIG_PATH
KOPIA_CONFIG_PATH="$(dirname "$source_config")/destination.config"

if [ "$mode" = Blobs ]; then
  storage_arguments
  # A new filesystem destination (a fresh claim) has no directory yet.
  if [ "$BACKEND" = filesystem ]; then
    mkdir -p "$(flag_value --path)" || fail "could not make the destination directory $(flag_value --path)"
  fi
  sync_flags=()
  [ "${ {{- env.delete_extra }}}" != true ] || sync_flags+=(--delete)
  log "copying the repository's blobs to $BACKEND ${sync_flags[*]}"
  status=0
  KOPIA_CONFIG_PATH=$source_config run_kopia repository sync-to "$STORAGE_PROVIDER" "${STORAGE_ARGS[@]}" "${sync_flags[@]}" >&2 || status=$?
  [ "$status" -eq 0 ] || fail "kopia repository sync-to failed (exit $status)" "$status"
  KOPIA_CACHE_DIRECTORY=$destination_cache connect_repository Never
else
  KOPIA_CACHE_DIRECTORY=$destination_cache connect_repository IfMissing
  log "migrating every snapshot into the destination"
  status=0
  # Kopia reads a persisted password only when persistence is on.
  KOPIA_PERSIST_CREDENTIALS_ON_CONNECT=true run_kopia snapshot migrate --source-config="$source_config" --all >&2 || status=$?
  [ "$status" -eq 0 ] || fail "kopia snapshot migrate failed (exit $status)" "$status"
fi

# Verify: the destination, opened on its own, lists its snapshots and blobs.
list="$HOME/destination-snapshots.json"
run_kopia snapshot list --all --json >"$list" || fail "could not list the destination's snapshots"
snapshots=$(json_fields id <"$list" | grep -c . || true)
blob_out=$(run_kopia blob stats --raw) || fail "could not read the destination's blob statistics"
blobs=$(printf '%s\n' "$blob_out" | sed -n 's/^Count: *\([0-9][0-9]*\)$/\1/p' | head -n 1)
log "the destination holds $snapshots snapshots in ${blobs:-?} blobs"
write_result success "$mode copy done: the destination holds $snapshots snapshots" \
  mode "$(json_string "$mode")" snapshotCount "$snapshots" blobCount "${blobs:-null}"
