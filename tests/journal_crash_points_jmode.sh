#!/bin/bash
# tests/journal_crash_points_jmode.sh - the 200-point crash test of
# journal_crash_points.sh with --data=journal: file data goes through the log,
# so after every cut and recovery no file may hold a block it never wrote.
E4LAB_CRASH_DATA=journal exec bash "$(dirname "$0")/journal_crash_points.sh" "$@"
