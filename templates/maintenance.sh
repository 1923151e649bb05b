#!/bin/bash
# kopiaplan maintenance mover: connect as the repository's maintenance
# owner, claim ownership explicitly, run full maintenance.
# Rendered by kopiaplan from templates/maintenance.sh.
OPERATION=maintenance
# shellcheck source=common.sh
source "{{ paths.scripts }}/common.sh"


prepare_directories
connect_repository Never

owner="${ {{- env.username }}}@${ {{- env.hostname }}}"
info="$HOME/maintenance-info.txt"
if run_kopia maintenance info >"$info" 2>&1; then
  previous_owner=$(sed -n 's/^Owner: *//p' "$info" | head -n 1)
  if [ -n "$previous_owner" ] && [ "$previous_owner" != "$owner" ]; then
    log "maintenance was owned by $previous_owner; $owner claims it"
  fi
fi
run_kopia maintenance set --owner="$owner" ||
  fail "could not make $owner the maintenance owner"
log "running full maintenance as $owner"
status=0
run_kopia maintenance run --full --safety=full || status=$?
[ "$status" -eq 0 ] || fail "kopia maintenance run --full failed (exit $status)" "$status"

# The repository's size after maintenance, for the result line: every blob
# (bytes and count) and the index blobs (`x` prefix), whose number Kopia's
# memory grows with. Not knowing them is no failure of maintenance.
stats=()
blob_stat() { # blob_stat FIELD [FLAGS...]: Count or Total of `kopia blob stats --raw`
  local field=$1 out
  shift
  out=$(run_kopia blob stats --raw "$@" 2>/dev/null) || return 0
  printf '%s\n' "$out" | sed -n "s/^$field: *\([0-9][0-9]*\)$/\1/p" | head -n 1
}
bytes=$(blob_stat Total)
blobs=$(blob_stat Count)
index_blobs=$(blob_stat Count --prefix=x)
if [ -n "$bytes" ] && [ -n "$blobs" ] && [ -n "$index_blobs" ]; then
  log "the repository holds $blobs blobs ($bytes bytes), $index_blobs of them index blobs"
  stats=(bytes "$bytes" blobCount "$blobs" indexBlobCount "$index_blobs")
  if [ "$index_blobs" -gt {{ limits.index_blobs_warning }} ]; then
    log "warning: $index_blobs index blobs (more than {{ limits.index_blobs_warning }}): maintenance may be falling behind, or run by another owner; every Kopia run reads them all"
    stats+=(warning "$(json_string "$index_blobs index blobs: more than {{ limits.index_blobs_warning }}")")
  fi
else
  log "warning: could not read the repository's blob statistics"
fi
write_result success "full maintenance done as $owner" "${stats[@]}"
