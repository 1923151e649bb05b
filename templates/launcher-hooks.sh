#!/bin/bash
# kopiaplan launcher with workload hooks. Rendered by kopiaplan from
# templates/launcher-hooks.sh into the launcher's manifests ConfigMap.
#
# Runs the `before` hook in the application's pods (kubectl exec), cuts the
# point-in-time copy, runs the `after` hook as soon as the copy is cut, then
# waits for the mover Job and reports one JSON line with every hook run.
# `after` runs whenever `before` ran, even when a later step fails.
#
# argv: the before hook's command ({{ env.before_argc }} words), then the
# after hook's ({{ env.after_argc }} words). Every other value comes from
# the environment the compiler sets.
set -u
set -o pipefail

NAMESPACE=${{ env.namespace }}
COPY_METHOD=${{ env.copy_method }}
MOVER_JOB=${{ env.mover_job }}
RESULT_FILE={{ paths.termination_log }}
MANIFESTS={{ paths.manifests }}

before=("${@:1:${{ env.before_argc }}}")
after=("${@:$(({{ env.before_argc }} + 1)):${{ env.after_argc }}}")

count() { printf '%s' "$#"; }
log() { printf '%s launcher: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
k() { kubectl --namespace="$NAMESPACE" "$@"; }

# JSON string escaping for the few texts the result line carries (pod and
# container names are DNS labels; messages are kopiaplan's own).
json_string() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

hook_runs=()   # one JSON object per hook run
targets=()     # the pods `before` ran in; `after` runs in the same ones
before_ran=false
after_done=false
hook_failure=""
hook_warning=""

# The application's running pods, by name; one of them for `pods: One`.
select_pods() {
  local listed
  listed=$(k get pods --selector="${{ env.hook_selector }}" \
    --field-selector=status.phase=Running --output=name) || return 1
  mapfile -t targets < <(printf '%s\n' "$listed" | sed -n 's|^pod/||p' | sort)
  if [ "${{ env.hook_pods }}" = One ] && [ "$(count "${targets[@]}")" -gt 1 ]; then
    targets=("${targets[0]}")
  fi
  [ "$(count "${targets[@]}")" -gt 0 ]
}

# run_hook NAME TIMEOUT ON_ERROR COMMAND...: in every target pod, in turn.
run_hook() {
  local name=$1 seconds=$2 on_error=$3 pod code container
  shift 3
  local failed=false
  container=${{ env.hook_container }}
  # `timeout -s -k`: the short options coreutils and busybox share.
  for pod in "${targets[@]}"; do
    log "running the $name hook in pod $pod (timeout ${seconds}s)"
    if [ -n "$container" ]; then
      timeout -s TERM -k 10 "$seconds" \
        kubectl --namespace="$NAMESPACE" exec "$pod" --container="$container" -- "$@"
    else
      timeout -s TERM -k 10 "$seconds" \
        kubectl --namespace="$NAMESPACE" exec "$pod" -- "$@"
    fi
    code=$?
    local timed_out=false
    if [ "$code" -eq 124 ] || [ "$code" -eq 137 ]; then
      timed_out=true
      log "the $name hook timed out after ${seconds}s in pod $pod"
    elif [ "$code" -ne 0 ]; then
      log "the $name hook exited $code in pod $pod"
    fi
    hook_runs+=("{\"hook\":$(json_string "$name"),\"pod\":$(json_string "$pod"),\"container\":$(json_string "$container"),\"exitCode\":$code,\"timedOut\":$timed_out}")
    [ "$code" -ne 0 ] && failed=true
  done
  if [ "$failed" = true ]; then
    if [ "$on_error" = Fail ]; then
      hook_failure="the $name hook failed"
      return 1
    fi
    hook_warning="the $name hook failed (onError: Continue)"
  fi
  return 0
}

run_before() {
  [ "${{ env.before_argc }}" -gt 0 ] || return 0
  if ! select_pods; then
    hook_runs+=("{\"hook\":\"before\",\"pod\":\"\",\"container\":\"\",\"exitCode\":null,\"timedOut\":false}")
    log "no running pod matches ${{ env.hook_selector }}"
    if [ "${{ env.before_on_error }}" = Fail ]; then
      hook_failure="no running pod for the before hook"
      return 1
    fi
    hook_warning="no running pod for the before hook"
    return 0
  fi
  before_ran=true
  run_hook before "${{ env.before_timeout }}" "${{ env.before_on_error }}" "${before[@]}"
}

# Once, and only when `before` ran in some pod or there is no `before`.
run_after() {
  [ "$after_done" = false ] || return 0
  after_done=true
  [ "${{ env.after_argc }}" -gt 0 ] || return 0
  if [ "${{ env.before_argc }}" -gt 0 ] && [ "$before_ran" = false ]; then
    return 0
  fi
  if [ "$(count "${targets[@]}")" -eq 0 ] && ! select_pods; then
    hook_runs+=("{\"hook\":\"after\",\"pod\":\"\",\"container\":\"\",\"exitCode\":null,\"timedOut\":false}")
    log "no running pod matches ${{ env.hook_selector }}"
    hook_warning="no running pod for the after hook"
    [ "${{ env.after_on_error }}" = Fail ] && hook_failure="no running pod for the after hook"
    return 0
  fi
  run_hook after "${{ env.after_timeout }}" "${{ env.after_on_error }}" "${after[@]}" || true
}

started=$(date +%s)
finish() {
  local result=$1 message=$2 hooks joined
  joined=$(IFS=,; printf '%s' "${hook_runs[*]}")
  hooks="[$joined]"
  local line
  line="{\"result\":$(json_string "$result"),\"operation\":\"backup\",\"copyMethod\":$(json_string "$COPY_METHOD"),\"message\":$(json_string "$message"),\"warning\":$(json_string "$hook_warning"),\"hooks\":$hooks,\"durationSeconds\":$(($(date +%s) - started))}"
  printf '%s\n' "$line" >"$RESULT_FILE"
  printf '%s\n' "$line"
  [ "$result" = success ] && exit 0
  exit 1
}

# Any failure: `after` still runs (when `before` ran), the snapshot goes.
fail() {
  log "$1"
  run_after
  if [ "$COPY_METHOD" = Snapshot ]; then
    k delete "${{ env.volume_snapshot }}" --ignore-not-found --wait=false >&2
  fi
  finish failure "$1"
}
trap 'fail "the launcher was stopped"' TERM INT

job_ref="job.batch/$MOVER_JOB"

# Leftovers of an earlier run that died midway.
if [ "$COPY_METHOD" = Snapshot ]; then
  k delete "${{ env.volume_snapshot }}" "$job_ref" --ignore-not-found --wait=true >&2 ||
    fail "could not delete the previous run's snapshot and mover Job"
else
  k delete "$job_ref" --ignore-not-found --wait=true >&2 ||
    fail "could not delete the previous run's mover Job"
fi

if ! run_before; then
  run_after
  finish failure "$hook_failure: no copy was taken"
fi

wait_for_mover() {
  # The Job's last condition is Complete or Failed once it has ended.
  k wait "--for=jsonpath={.status.conditions[-1:].status}=True" "$job_ref" \
    "--timeout=${ {{- env.mover_timeout }}}s" >&2 || fail "the mover Job did not finish in time"
}

case $COPY_METHOD in
  Snapshot)
    k create --filename="$MANIFESTS/volumesnapshot.json" >&2 ||
      fail "could not create the VolumeSnapshot"
    # The cut: the snapshot has a creation time once the storage took it.
    k wait "--for=jsonpath={.status.creationTime}" "${{ env.volume_snapshot }}" \
      "--timeout=${ {{- env.ready_timeout }}}s" >&2 || fail "the VolumeSnapshot was not taken in time"
    log "the snapshot is cut"
    run_after
    k wait "--for=jsonpath={.status.readyToUse}=true" "${{ env.volume_snapshot }}" \
      "--timeout=${ {{- env.ready_timeout }}}s" >&2 || fail "the VolumeSnapshot did not become ready in time"
    k create --filename="$MANIFESTS/mover-job.json" >&2 || fail "could not create the mover Job"
    wait_for_mover
    k delete "${{ env.volume_snapshot }}" --ignore-not-found --wait=false >&2
    ;;
  Clone)
    k create --filename="$MANIFESTS/mover-job.json" >&2 || fail "could not create the mover Job"
    # The cut: the clone claim of the mover's pod (`<pod>-<volume>`) is bound.
    deadline=$(($(date +%s) + {{ env.ready_timeout }}))
    while :; do
      pod=$(k get pods --selector="batch.kubernetes.io/job-name=$MOVER_JOB" --output=name | sed -n 's|^pod/||p' | head -n 1)
      if [ -n "$pod" ]; then
        phase=$(k get "persistentvolumeclaim/$pod-${{ env.clone_volume }}" \
          "--output=jsonpath={.status.phase}" 2>/dev/null)
        [ "$phase" = Bound ] && break
      fi
      [ "$(date +%s)" -ge "$deadline" ] && fail "the clone was not bound in time"
      sleep 2
    done
    log "the clone is cut"
    run_after
    wait_for_mover
    ;;
  Direct)
    k create --filename="$MANIFESTS/mover-job.json" >&2 || fail "could not create the mover Job"
    # The cut: the end of the Kopia snapshot.
    wait_for_mover
    log "the mover has finished"
    run_after
    ;;
esac

if ! k wait --for=condition=Complete "$job_ref" --timeout=60s >&2; then
  finish failure "the mover Job failed: see its pod's termination message"
fi
if [ -n "$hook_failure" ]; then
  finish failure "$hook_failure"
fi
finish success "the backup succeeded"
