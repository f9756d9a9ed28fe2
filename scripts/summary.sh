#!/usr/bin/env bash
# Reads the output of `cargo test` runs and prints the one summary line scripts/test.sh
# ends with: "summary: N passed, N failed, N skipped". A test binary that started
# ("Running …", "Doc-tests …") but never printed its "test result:" line — it aborted, was
# killed, or its process died — counts as a failure and is named, so a crash can never
# shrink into "0 failed".
#   scripts/summary.sh LOG          exit 0 only if nothing failed and every binary reported
#   scripts/summary.sh LOG --one    also require that exactly one test ran (soak.sh: a
#                                   renamed test must not turn its run into a silent pass)
#   scripts/summary.sh LOG --stopped WHY
#                                   the run stopped before its tests ended: one more failure
#   scripts/summary.sh LOG --also WHY [--also WHY …]
#                                   a step beside the test binaries failed (lint, a soak
#                                   run's own check): one more failure each, named
set -euo pipefail
usage() { echo "usage: scripts/summary.sh LOG [--one | --stopped WHY] [--also WHY]…" >&2; exit 2; }
[ $# -ge 1 ] && [ -r "$1" ] || usage
log=$1
shift
one="" stopped="" also=""
while [ $# -gt 0 ]; do
    case "$1" in
        --one) one=--one; shift ;;
        --stopped) [ -n "${2:-}" ] || usage; stopped=$2; shift 2 ;;
        --also) [ -n "${2:-}" ] || usage; also="$also${also:+|}$2"; shift 2 ;;
        *) usage ;;
    esac
done

awk -v one="$one" -v stopped="$stopped" -v also="$also" '
    function close_binary() {
        if (pending != "") { lost++; names = names "\n  no result from: " pending }
        pending = ""
    }
    /^ +Running .+ \(.+\)$/ || /^ +Doc-tests / {
        close_binary()
        pending = $0
        sub(/^ +/, "", pending)
        started++
        next
    }
    /^test result:/ {
        for (i = 1; i <= NF; i++) {
            if ($(i+1) ~ /^passed/) p += $i
            if ($(i+1) ~ /^failed/) f += $i
            if ($(i+1) ~ /^ignored/) s += $i
        }
        pending = ""
        next
    }
    END {
        close_binary()
        extra = (stopped != "") ? 1 : 0
        n_also = (also != "") ? split(also, reasons, "|") : 0
        extra += n_also
        bad = (f + lost + extra > 0)
        printf "summary: %d passed, %d failed, %d skipped", p, f + lost + extra, s
        if (lost > 0) printf " (%d of %d test binaries ended without a result)%s", lost, started, names
        printf "\n"
        if (stopped != "") print "  the run stopped before its tests ended: " stopped
        for (i = 1; i <= n_also; i++) print "  failed besides the tests: " reasons[i]
        if (started == 0) { print "  no test binary ran"; bad = 1 }
        if (one == "--one" && p + f != 1) { printf "  expected exactly one test to run, %d ran\n", p + f; bad = 1 }
        exit bad
    }' "$log"
