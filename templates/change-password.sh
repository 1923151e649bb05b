#!/bin/bash
# kopiaplan password change: connect with the repository's password
# (KOPIA_PASSWORD), change it to the new one (KOPIA_NEW_PASSWORD, from the
# key of the repository Secret the plan names), then prove the change by
# connecting afresh with the new password.
# Rendered by kopiaplan from templates/change-password.sh.
OPERATION=change-password
# shellcheck source=common.sh
source "{{ paths.scripts }}/common.sh"

prepare_directories
[ -n "${KOPIA_NEW_PASSWORD:-}" ] ||
  fail "the repository Secret has no new password: add it under the key the plan's passwordChange names"
if [ "$KOPIA_NEW_PASSWORD" = "${KOPIA_PASSWORD:-}" ]; then
  fail "the new password is the repository's password already: nothing to change"
fi
connect_repository Never
status=0
# Kopia reads the new password from KOPIA_NEW_PASSWORD (--new-password's
# variable): it never appears on a command line.
run_kopia repository change-password >&2 || status=$?
[ "$status" -eq 0 ] || fail "kopia repository change-password failed (exit $status)" "$status"
log "the repository's password is changed; connecting with the new one"

# A fresh connection (its own config and cache: Kopia caches the format
# blob) with the new password.
run_kopia repository disconnect >&2 || true
export KOPIA_PASSWORD=$KOPIA_NEW_PASSWORD KOPIA_CACHE_DIRECTORY="$KOPIA_CACHE_DIRECTORY-new-password"
KOPIA_CONFIG_PATH="$(dirname "$KOPIA_CONFIG_PATH")/new-password.config"
export KOPIA_CONFIG_PATH
connect_repository Never
write_result success "the password is changed: put the new password into KOPIA_PASSWORD of every Secret of this repository, then remove the new key"
