#!/bin/sh
# testbed activation script for @machine@ generation @generation@: like NixOS's `activate`,
# it points /run/current-system at this system (atomically).
export PATH=@path@
systemConfig=@out@
echo "activating the configuration..." >&2
echo "setting up /etc..." >&2
mkdir -p /run
ln -sfn "$systemConfig" /run/current-system.tmp && mv -T /run/current-system.tmp /run/current-system
echo "testbed: @machine@ now runs generation @generation@" >&2
