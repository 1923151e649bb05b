#!/bin/sh
# Installs the kopiaplan exec plugin where kustomize looks for plugins:
# $KUSTOMIZE_PLUGIN_HOME, else $XDG_CONFIG_HOME/kustomize/plugin, else
# ~/.config/kustomize/plugin. Running it again replaces the installed copy.
set -eu
home="${KUSTOMIZE_PLUGIN_HOME:-${XDG_CONFIG_HOME:-$HOME/.config}/kustomize/plugin}"
target="$home/kopiaplan.dev/v1alpha1/backupplan"
mkdir -p "$target"
cp "$(dirname "$0")/BackupPlan" "$target/BackupPlan"
chmod 0755 "$target/BackupPlan"
echo "installed $target/BackupPlan"
