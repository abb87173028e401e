#!/bin/sh
# testbed switch-to-configuration for machine @machine@, generation @generation@.
# Mirrors the interface of NixOS's switch-to-configuration: one argument, the action.
#   switch       make this the boot default, then activate (/run/current-system -> @out@)
#   boot         make this the boot default only (/var/lib/testbed/boot-system -> @out@)
#   test         activate without touching the boot default
#   dry-activate print what would happen, change nothing
# Every run appends one line to /var/lib/testbed/activations.log:
#   <UTC time, ms>\t<action>\t@out@\t<ok|failed|hang>
# Faults (files created by `testbed fault HOST ...`):
#   /var/lib/testbed/fault-activation-fail  exit non-zero (the file may hold the exit code)
#   /var/lib/testbed/fault-activation-hang  never return (until killed)
#   /var/lib/testbed/fault-switch-fail      only `switch` fails (boot still works); holding
#                                           `inhibit`, with NixOS's switch-inhibitor message
export PATH=@path@
out=@out@
state=/var/lib/testbed
action="${1:-}"

record() {
    mkdir -p "$state"
    printf '%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$action" "$out" "$1" >> "$state/activations.log"
}

case "$action" in
    switch|boot|test|dry-activate) ;;
    *)
        echo "Usage: $0 [switch|boot|test|dry-activate]" >&2
        echo "switch:       make the configuration the boot default and activate now" >&2
        echo "boot:         make the configuration the boot default" >&2
        echo "test:         activate the configuration, but don't make it the boot default" >&2
        echo "dry-activate: show what would be done if this configuration were activated" >&2
        exit 1
        ;;
esac

if [ -e "$state/fault-activation-hang" ]; then
    record hang
    echo "testbed: activation of @machine@ hangs (fault activation-hang)" >&2
    while :; do sleep 1; done
fi

if [ -e "$state/fault-activation-fail" ]; then
    code=$(cat "$state/fault-activation-fail" 2>/dev/null)
    case "$code" in ''|*[!0-9]*) code=1 ;; esac
    [ "$code" -eq 0 ] && code=1
    record failed
    echo "testbed: activation of @machine@ failed (fault activation-fail), exit $code" >&2
    exit "$code"
fi

if [ "$action" = switch ] && [ -e "$state/fault-switch-fail" ]; then
    record failed
    if [ "$(cat "$state/fault-switch-fail" 2>/dev/null)" = inhibit ]; then
        echo "Pre-switch check 'switchInhibitors' failed: testbed-critical.service changed (fault switch-fail inhibit)" >&2
    else
        echo "testbed: switch of @machine@ failed (fault switch-fail)" >&2
    fi
    exit 1
fi

case "$action" in
    dry-activate)
        echo "would activate the configuration $out (@machine@ generation @generation@)..." >&2
        echo "would restart the following units: testbed-generation.service" >&2
        ;;
    boot)
        echo "updating boot entry for $out..." >&2
        mkdir -p "$state"
        ln -sfn "$out" "$state/boot-system.tmp" && mv -T "$state/boot-system.tmp" "$state/boot-system"
        ;;
    test)
        "$out/activate" || { record failed; exit 1; }
        ;;
    switch)
        echo "updating boot entry for $out..." >&2
        mkdir -p "$state"
        ln -sfn "$out" "$state/boot-system.tmp" && mv -T "$state/boot-system.tmp" "$state/boot-system"
        "$out/activate" || { record failed; exit 1; }
        ;;
esac
record ok
