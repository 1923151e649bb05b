#!/bin/bash
# kopiaplan launcher with workload hooks. Rendered by kopiaplan from
# templates/launcher-hooks.sh into the launcher's manifests ConfigMap.
#
# Runs the `before` hook in the application's pods (kubectl exec), cuts the
# point-in-time copy, runs the `after` hook as soon as the copy is cut, then
# waits for the mover Job and reports one JSON line with every hook run.
# `after` runs whenever `before` ran, even when a later step fails or the
# launcher is stopped (TERM or INT: the pod deleted, evicted or past its
# Job's deadline).
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
# Compile-time bounds, which the launcher pod's grace period and its Job's
# deadline are computed from (src/emit/hooks.rs).
KILL_AFTER={{ timing.kill_after }}
REQUEST_TIMEOUT={{ timing.request_timeout }}s
CLEANUP_TIMEOUT={{ timing.cleanup }}s
JOB_END_TIMEOUT={{ timing.job_end }}s

before=("${@:1:${{ env.before_argc }}}")
after=("${@:$(({{ env.before_argc }} + 1)):${{ env.after_argc }}}")

count() { printf '%s' "$#"; }
log() { printf '%s launcher: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
k() { kubectl --namespace="$NAMESPACE" "$@"; }

# step KUBECTL_ARGUMENTS...: one kubectl command, run in the background and
# waited for. Bash runs a trap only once the foreground command has
# returned, and a `kubectl wait` can take hours: `wait` returns at once.
STEP_PID=
step() {
  kubectl --namespace="$NAMESPACE" "$@" >&2 &
  STEP_PID=$!
  local status=0
  wait "$STEP_PID" || status=$?
  STEP_PID=
  return "$status"
}
pause() {
  sleep "$1" &
  STEP_PID=$!
  wait "$STEP_PID"
  STEP_PID=
}

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
containers=()  # the container of each target the hooks run in
before_ran=false
after_done=false
hook_failure=""
hook_warning=""
# Whether the copy was cut (after it, `after` may run: the copy is taken),
# and whether the mover Job was created.
cut=false
mover_created=false

# The application's running pods, by name; one of them for `pods: One`;
# and the container in each that the hooks run in.
select_pods() {
  local listed pod container
  listed=$(k --request-timeout="$REQUEST_TIMEOUT" get pods --selector="${{ env.hook_selector }}" \
    --field-selector=status.phase=Running --output=name) || return 1
  mapfile -t targets < <(printf '%s\n' "$listed" | sed -n 's|^pod/||p' | sort)
  if [ "${{ env.hook_pods }}" = One ] && [ "$(count "${targets[@]}")" -gt 1 ]; then
    targets=("${targets[0]}")
  fi
  [ "$(count "${targets[@]}")" -gt 0 ] || return 1
  containers=()
  for pod in "${targets[@]}"; do
    container=${{ env.hook_container }}
    if [ -z "$container" ]; then
      # The pod's first container, as the plan promises: kubectl exec
      # without --container would honour the pod's
      # kubectl.kubernetes.io/default-container annotation instead.
      container=$(k --request-timeout="$REQUEST_TIMEOUT" get "pod/$pod" \
        '--output=jsonpath={.spec.containers[0].name}') ||
        container=""
    fi
    containers+=("$container")
  done
}

# The hook running now: one kubectl exec per target pod, all at once, in
# the background, so that a TERM is seen at once and the trap can let them
# end (never running `after` beside a `before` still running).
running_hook=""
running_pids=()
running_next=0
running_failed=false

# start_hook NAME SECONDS COMMAND...
start_hook() {
  local name=$1 seconds=$2 i
  shift 2
  running_hook=$name
  running_pids=()
  running_next=0
  running_failed=false
  for i in "${!targets[@]}"; do
    if [ -z "${containers[i]}" ]; then
      log "could not read the containers of pod ${targets[i]}: the $name hook does not run there"
      running_pids+=("")
      continue
    fi
    log "running the $name hook in pod ${targets[i]}, container ${containers[i]} (timeout ${seconds}s)"
    # `timeout -s -k`: the short options coreutils and busybox share. It
    # stops kubectl exec; the command in the container may go on.
    timeout -s TERM -k "$KILL_AFTER" "$seconds" \
      kubectl --namespace="$NAMESPACE" exec "${targets[i]}" --container="${containers[i]}" -- "$@" &
    running_pids+=("$!")
  done
}

# Waits for the running hook in each pod, in pod order, and records it. A
# TERM that interrupts it calls it again from the trap, which goes on from
# the pod it was waiting for. Fails when the hook failed in some pod.
collect_hook() {
  local i pod pid code timed_out
  while [ "$running_next" -lt "$(count "${running_pids[@]}")" ]; do
    i=$running_next
    pod=${targets[i]}
    pid=${running_pids[i]}
    timed_out=false
    if [ -z "$pid" ]; then
      code=null
    else
      # A signal caught meanwhile interrupts `wait`, not the hook.
      code=0
      wait "$pid" || code=$?
      while kill -0 "$pid" 2>/dev/null; do
        code=0
        wait "$pid" || code=$?
      done
      if [ "$code" -eq 124 ] || [ "$code" -eq 137 ]; then
        timed_out=true
        log "the $running_hook hook timed out in pod $pod"
      elif [ "$code" -ne 0 ]; then
        log "the $running_hook hook exited $code in pod $pod"
      fi
    fi
    hook_runs+=("{\"hook\":$(json_string "$running_hook"),\"pod\":$(json_string "$pod"),\"container\":$(json_string "${containers[i]}"),\"exitCode\":$code,\"timedOut\":$timed_out}")
    [ "$code" = 0 ] || running_failed=true
    running_next=$((i + 1))
  done
  running_hook=""
  running_pids=()
  [ "$running_failed" = false ]
}

# run_hook NAME TIMEOUT ON_ERROR COMMAND...: in every target pod.
run_hook() {
  local name=$1 seconds=$2 on_error=$3
  shift 3
  start_hook "$name" "$seconds" "$@"
  collect_hook && return 0
  if [ "$on_error" = Fail ]; then
    hook_failure="the $name hook failed"
    return 1
  fi
  hook_warning="the $name hook failed (onError: Continue)"
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
  trap : TERM INT
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

job_ref="job.batch/$MOVER_JOB"
snapshot_ref=${{ env.volume_snapshot }}

# A copy that was not cut yet is abandoned before `after` runs: the mover
# would otherwise go on reading (Direct) or clone (Clone) a volume that is
# no longer quiesced, and keep that as a good snapshot. The VolumeSnapshot
# goes in any case (below).
abandon_copy() {
  if [ "$cut" = false ] && [ "$mover_created" = true ] && [ "$COPY_METHOD" != Snapshot ]; then
    log "deleting the mover Job: its copy was not cut"
    k --request-timeout="$REQUEST_TIMEOUT" delete "$job_ref" --ignore-not-found --wait=false >&2
  fi
}

# Any failure: the copy not cut is abandoned, `after` still runs (when
# `before` ran), the snapshot goes. A TERM now changes nothing: what is
# left is bounded and must finish. (Caught, not ignored: an ignored signal
# would stay ignored in the hooks' kubectl, which `timeout` stops with it.)
fail() {
  trap : TERM INT
  log "$1"
  abandon_copy
  run_after
  if [ "$COPY_METHOD" = Snapshot ]; then
    k --request-timeout="$REQUEST_TIMEOUT" delete "$snapshot_ref" --ignore-not-found --wait=false >&2
  fi
  finish failure "$1"
}

# Stopped: a kubectl step is abandoned at once, a hook running now may end
# (within its timeout), then as any failure. The launcher pod's
# terminationGracePeriodSeconds covers that.
# shellcheck disable=SC2317 # run by the traps below
stopped() {
  trap : TERM INT
  log "stopping on SIG$1"
  if [ -n "$STEP_PID" ]; then
    kill "$STEP_PID" 2>/dev/null
  fi
  if [ -n "$running_hook" ]; then
    log "waiting for the $running_hook hook to end"
    collect_hook
  fi
  fail "the launcher was stopped by SIG$1"
}
trap 'stopped TERM' TERM
trap 'stopped INT' INT

# Leftovers of an earlier run that died midway.
if [ "$COPY_METHOD" = Snapshot ]; then
  step delete "$snapshot_ref" "$job_ref" --ignore-not-found --wait=true --timeout="$CLEANUP_TIMEOUT" ||
    fail "could not delete the previous run's snapshot and mover Job"
else
  step delete "$job_ref" --ignore-not-found --wait=true --timeout="$CLEANUP_TIMEOUT" ||
    fail "could not delete the previous run's mover Job"
fi

if ! run_before; then
  run_after
  finish failure "$hook_failure: no copy was taken"
fi

create_mover() {
  mover_created=true
  step create --filename="$MANIFESTS/mover-job.json" || fail "could not create the mover Job"
}

# Until the mover Job has ended: its last condition is then Complete or
# Failed. Since Kubernetes 1.31 a Job may first get SuccessCriteriaMet or
# FailureTarget, and Complete or Failed only once its pods are gone: those
# wait for the condition that follows. MOVER_OUTCOME: the last condition.
MOVER_OUTCOME=""
wait_for_mover() {
  step wait "--for=jsonpath={.status.conditions[-1:].status}=True" "$job_ref" \
    "--timeout=${ {{- env.mover_timeout }}}s" || fail "the mover Job did not finish in time"
  MOVER_OUTCOME=$(k --request-timeout="$REQUEST_TIMEOUT" get "$job_ref" \
    '--output=jsonpath={.status.conditions[-1:].type}') ||
    fail "could not read the mover Job's conditions"
  case $MOVER_OUTCOME in
    SuccessCriteriaMet | FailureTarget)
      local final=Complete
      [ "$MOVER_OUTCOME" = FailureTarget ] && final=Failed
      log "the mover Job has condition $MOVER_OUTCOME: waiting for $final"
      step wait "--for=condition=$final" "$job_ref" "--timeout=$JOB_END_TIMEOUT" ||
        fail "the mover Job did not end in time after $MOVER_OUTCOME"
      MOVER_OUTCOME=$final
      ;;
  esac
}

case $COPY_METHOD in
  Snapshot)
    step create --filename="$MANIFESTS/volumesnapshot.json" ||
      fail "could not create the VolumeSnapshot"
    # The cut: the snapshot has a creation time once the storage took it.
    step wait "--for=jsonpath={.status.creationTime}" "$snapshot_ref" \
      "--timeout=${ {{- env.ready_timeout }}}s" || fail "the VolumeSnapshot was not taken in time"
    cut=true
    log "the snapshot is cut"
    run_after
    step wait "--for=jsonpath={.status.readyToUse}=true" "$snapshot_ref" \
      "--timeout=${ {{- env.ready_timeout }}}s" || fail "the VolumeSnapshot did not become ready in time"
    create_mover
    wait_for_mover
    k --request-timeout="$REQUEST_TIMEOUT" delete "$snapshot_ref" --ignore-not-found --wait=false >&2
    ;;
  Clone)
    create_mover
    # The cut: the clone claim of the mover's pod (`<pod>-<volume>`) is bound.
    deadline=$(($(date +%s) + {{ env.ready_timeout }}))
    while :; do
      # (Foreground calls, bounded so that a TERM waits at most that long.)
      pod=$(k --request-timeout="$REQUEST_TIMEOUT" get pods --selector="batch.kubernetes.io/job-name=$MOVER_JOB" \
        --output=name | sed -n 's|^pod/||p' | head -n 1)
      if [ -n "$pod" ]; then
        phase=$(k --request-timeout="$REQUEST_TIMEOUT" get "persistentvolumeclaim/$pod-${{ env.clone_volume }}" \
          "--output=jsonpath={.status.phase}" 2>/dev/null)
        [ "$phase" = Bound ] && break
      fi
      [ "$(date +%s)" -ge "$deadline" ] && fail "the clone was not bound in time"
      pause 2
    done
    cut=true
    log "the clone is cut"
    run_after
    wait_for_mover
    ;;
  Direct)
    create_mover
    # The cut: the end of the Kopia snapshot, that is of the mover Job.
    wait_for_mover
    cut=true
    log "the mover has finished"
    run_after
    ;;
esac

if [ "$MOVER_OUTCOME" != Complete ]; then
  finish failure "the mover Job failed: see its pod's termination message"
fi
if [ -n "$hook_failure" ]; then
  finish failure "$hook_failure"
fi
finish success "the backup succeeded"
