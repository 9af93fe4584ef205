#!/bin/sh
# A hook: append "<name> status=<status from stdin> mntns=<mount namespace>" to the log.
state=$(cat)
status=$(echo "$state" | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p')
echo "$1 status=$status mntns=$(readlink /proc/self/ns/mnt)" >> "$2"
