#!/usr/bin/env bats
# The conventions every mm-* program shares (lib/core/cli.h, HACKING.md): checked
# for every program found in $MM_BIN, so a new program is covered as soon as
# it is built. Program-specific behaviour lives in <program>.bats.
load common
bats_require_minimum_version 1.5.0

setup() {
    cd "$BATS_TEST_TMPDIR" || return 1
    : > empty
    progs=()
    for p in "$MM_BIN"/mm-*; do
        [ -x "$p" ] && progs+=("$(basename "$p")")
    done
    [ "${#progs[@]}" -ge 2 ] # at least mm-info and mm-convert
}

@test "every program: --help prints 'Usage: NAME' on stdout, nothing on stderr, status 0" {
    bad=0
    for p in "${progs[@]}"; do
        for opt in --help -h; do
            "$p" "$opt" > out.txt 2> err.txt && st=0 || st=$?
            if [ "$st" -ne 0 ] || [[ "$(head -n 1 out.txt)" != "Usage: $p "* ]] || [ -s err.txt ]; then
                echo "$p $opt: status $st, first line '$(head -n 1 out.txt)', stderr '$(cat err.txt)'" >&2
                bad=$((bad + 1))
            fi
        done
    done
    [ "$bad" -eq 0 ]
}

@test "every program: --help documents --help and --version" {
    bad=0
    for p in "${progs[@]}"; do
        "$p" --help > out.txt
        for opt in --help --version; do
            grep -q -- "$opt" out.txt || { echo "$p: --help does not mention $opt" >&2; bad=$((bad + 1)); }
        done
    done
    [ "$bad" -eq 0 ]
}

@test "every program: --version prints one line 'NAME (mmkit) VERSION', status 0" {
    bad=0
    for p in "${progs[@]}"; do
        "$p" --version > out.txt 2> err.txt && st=0 || st=$?
        if [ "$st" -ne 0 ] || [ "$(wc -l < out.txt)" -ne 1 ] || [ -s err.txt ] ||
            ! grep -Eq "^$p \(mmkit\) [0-9]+\.[0-9]+\.[0-9]+" out.txt; then
            echo "$p --version: status $st, '$(cat out.txt)', stderr '$(cat err.txt)'" >&2
            bad=$((bad + 1))
        fi
    done
    [ "$bad" -eq 0 ]
}

@test "every program: all programs report the same version" {
    versions=$(for p in "${progs[@]}"; do "$p" --version | awk '{print $3}'; done | sort -u)
    [ "$(wc -l <<< "$versions")" -eq 1 ]
}

@test "every program: an unknown option is a usage error: status 2, nothing on stdout, 'prog: ...' + hint" {
    bad=0
    for p in "${progs[@]}"; do
        for opt in --no-such-option-xyz -Z; do
            "$p" "$opt" > out.txt 2> err.txt < empty && st=0 || st=$?
            if [ "$st" -ne 2 ] || [ -s out.txt ] ||
                [ "$(tail -n 1 err.txt)" != "Try '$p --help' for more information." ] ||
                [[ "$(head -n 1 err.txt)" != "$p: "* ]] || [ "$(wc -l < err.txt)" -ne 2 ]; then
                echo "$p $opt: status $st, stdout '$(cat out.txt)', stderr '$(cat err.txt)'" >&2
                bad=$((bad + 1))
            fi
        done
    done
    [ "$bad" -eq 0 ]
}

@test "every program: a missing argument to an option is a usage error (status 2)" {
    bad=0
    for p in "${progs[@]}"; do
        # the first option of --help that takes an argument, e.g. "-o, --output FILE"
        opt=$("$p" --help | grep -Eo -- '--[a-z][a-z0-9-]*[ =][A-Z][A-Z_.=]*' | head -n 1 | sed 's/[ =].*//')
        [ -n "$opt" ] || continue
        "$p" "$opt" > out.txt 2> err.txt < empty && st=0 || st=$?
        if [ "$st" -ne 2 ] || [ "$(tail -n 1 err.txt)" != "Try '$p --help' for more information." ]; then
            echo "$p $opt (no argument): status $st, stderr '$(cat err.txt)'" >&2
            bad=$((bad + 1))
        fi
    done
    [ "$bad" -eq 0 ]
}

@test "every program: --version to a full disk fails (status 1), it does not pretend success" {
    [ -c /dev/full ] || skip "no /dev/full"
    bad=0
    for p in "${progs[@]}"; do
        "$p" --version > /dev/full 2> err.txt && st=0 || st=$?
        [ "$st" -eq 1 ] || { echo "$p --version > /dev/full: status $st" >&2; bad=$((bad + 1)); }
    done
    [ "$bad" -eq 0 ]
}

@test "-q: --quiet is spelled the same everywhere; -q keeps its documented meaning per program" {
    # --quiet (long) is accepted by every program; its short form -q exists
    # only where -q means nothing else. mm-rank's -q is --queries (its
    # documented usage line) and mm-eval's -q is trec_eval's per-query
    # output: there --help says so next to --quiet.
    bad=0
    for p in "${progs[@]}"; do
        "$p" --help > out.txt
        grep -q -- '--quiet' out.txt || { echo "$p: no --quiet" >&2; bad=$((bad + 1)); }
        if grep -qE -- '^ +-q, --quiet' out.txt; then
            [ "$(grep -cE -- '^ +-q[, ]' out.txt)" -eq 1 ] || { echo "$p: -q means two things" >&2; bad=$((bad + 1)); }
        else
            grep -qE -- '--quiet .*-q is ' out.txt || { echo "$p: --quiet has no short form and --help does not say why" >&2; bad=$((bad + 1)); }
        fi
    done
    [ "$bad" -eq 0 ]
    # and the short forms do what they say
    run mm-rank -q /nonexistent.mmf -g /nonexistent.mmf
    assert_output_contains "/nonexistent.mmf"
}

@test "every program that has --progress also has --quiet" {
    bad=0
    for p in "${progs[@]}"; do
        "$p" --help > out.txt
        if grep -q -- '--progress' out.txt && ! grep -q -- '--quiet' out.txt; then
            echo "$p: --progress without --quiet" >&2
            bad=$((bad + 1))
        fi
    done
    [ "$bad" -eq 0 ]
}

# ---- data outputs ----------------------------------------------------------------

@test "write errors on standard output are reported (status 1), not ignored" {
    [ -c /dev/full ] || skip "no /dev/full"
    printf 'a\t1 2\nb\t3 4\n' > a.tsv
    mm-convert a.tsv -o a.mmf
    run --separate-stderr bash -c 'mm-info a.mmf > /dev/full'
    assert_status 1
    [[ "$stderr" == "mm-info: "*"write error"* ]]
    run --separate-stderr bash -c 'mm-convert a.mmf --to tsv > /dev/full'
    assert_status 1
    [[ "$stderr" == "mm-convert: "*"write error"* ]]
    run --separate-stderr bash -c 'mm-convert a.tsv --to mmf > /dev/full'
    assert_status 1
    [[ "$stderr" == "mm-convert: "*"write error"* ]]
}

@test "a closed downstream pipe ends the program quietly with status 141 (mm-info --ids)" {
    "$MM_PYTHON" -c '
import numpy as np
np.save("x.npy", np.zeros((30000, 1), np.float32))'
    mm-convert x.npy -o x.mmf
    run --separate-stderr bash -c 'mm-info --ids x.mmf | head -n 1; echo "status=${PIPESTATUS[0]}"'
    [ -z "$stderr" ]
    [ "$output" = "$(printf '0\nstatus=141')" ]
}

@test "runtime errors: 'prog: file:position: problem' on stderr, status 1, no -o file" {
    printf 'a\t1 2\nb\t1\n' > bad.tsv
    run --separate-stderr mm-convert bad.tsv -o bad.mmf
    assert_status 1
    [ -z "$output" ]
    [[ "$stderr" == "mm-convert: bad.tsv:2: "* ]]
    [ "$(wc -l <<< "$stderr")" -eq 1 ]
    [ ! -e bad.mmf ]
    printf 'a\t1 2\n' | mm-convert --to mmf -o a.mmf
    head -c 30 a.mmf > cut.mmf
    run --separate-stderr mm-info cut.mmf
    assert_status 1
    [ -z "$output" ]
    [[ "$stderr" =~ ^mm-info:\ cut\.mmf:\ byte\ [0-9]+:\ truncated:\  ]]
}

@test "a failing producer in a pipe shows up downstream as 'truncated'" {
    printf 'a\t1 2\nb\t1\n' > bad.tsv
    run --separate-stderr bash -c 'mm-convert bad.tsv --to mmf | mm-info; echo "status=${PIPESTATUS[*]}"'
    [[ "$stderr" == *"mm-convert: bad.tsv:2: "* ]]
    [[ "$stderr" == *"mm-info: (stdin): byte "*": truncated: "* ]]
    [ "$output" = "status=1 1" ]
}

@test "progress: no progress line when stderr is not a terminal" {
    "$MM_PYTHON" -c '
import numpy as np
np.save("x.npy", np.zeros((20000, 8), np.float32))'
    run --separate-stderr mm-convert x.npy -o x.mmf
    assert_status 0
    [ -z "$stderr" ]
    run --separate-stderr mm-info x.mmf
    [ -z "$stderr" ]
}

# ---- manual pages ------------------------------------------------------------------

@test "every program has a manual page in man/man1" {
    bad=0
    for p in "${progs[@]}"; do
        [ -f "$MM_REPO/man/man1/$p.1" ] || { echo "missing man/man1/$p.1" >&2; bad=$((bad + 1)); }
    done
    [ -f "$MM_REPO/man/man5/mmf.5" ] || { echo "missing man/man5/mmf.5" >&2; bad=$((bad + 1)); }
    [ "$bad" -eq 0 ]
}

@test "manual pages render without groff warnings and have the standard sections" {
    command -v groff > /dev/null || skip "groff not installed"
    bad=0
    for page in "$MM_REPO"/man/man1/*.1 "$MM_REPO"/man/man5/*.5; do
        [ -f "$page" ] || continue
        LC_ALL=C.UTF-8 groff -t -man -Tutf8 -ww -z "$page" 2> warn.txt
        if [ -s warn.txt ]; then
            echo "$page: $(cat warn.txt)" >&2; bad=$((bad + 1))
        fi
        for sec in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do
            grep -q "^\.SH \"*$sec" "$page" || { echo "$page: no $sec section" >&2; bad=$((bad + 1)); }
        done
        case "$page" in
        *.1)
            grep -q '^\.SH "*EXIT STATUS' "$page" || { echo "$page: no EXIT STATUS" >&2; bad=$((bad + 1)); }
            grep -q '141' "$page" || { echo "$page: exit status 141 not documented" >&2; bad=$((bad + 1)); }
            ;;
        esac
    done
    [ "$bad" -eq 0 ]
}

@test "every option in --help is documented in the program's manual page" {
    bad=0
    for p in "${progs[@]}"; do
        page="$MM_REPO/man/man1/$p.1"
        [ -f "$page" ] || continue # reported by the test above
        # man(7) writes '-' as '\-'; compare without the escapes
        sed 's/\\-/-/g; s/\\f[BIRP]//g' "$page" > page.txt
        for opt in $("$p" --help | grep -Eo -- '(^|[ ,])--[a-z][a-z0-9-]*' | grep -Eo -- '--[a-z0-9-]+' | sort -u); do
            grep -q -- "$opt" page.txt || { echo "$p: $opt is not in $p.1" >&2; bad=$((bad + 1)); }
        done
    done
    [ "$bad" -eq 0 ]
}

# -o on something that is not a regular file (a FIFO here; /dev/null or
# /dev/stdout in real life) must write into it, not rename a temporary file
# over it: as root, "-o /dev/null" would otherwise replace the device node.
@test "-o FIFO (or device) writes into it instead of replacing it with a regular file" {
    printf 'a\t1 2\n' > a.tsv
    mm-convert a.tsv -o want.mmf
    mkfifo out.fifo
    timeout 10 cat out.fifo > got.mmf &
    reader=$!
    run --separate-stderr timeout 10 mm-convert a.tsv --to mmf -o out.fifo
    st=$status
    [ -p out.fifo ] || { echo "out.fifo was replaced by a regular file" >&2; kill "$reader" 2> /dev/null; return 1; }
    wait "$reader"
    [ "$st" -eq 0 ]
    cmp want.mmf got.mmf
    [ -z "$(ls -a | grep '\.tmp\.')" ]
}

@test "an MMF input that is a directory: 'prog: DIR: is a directory', status 1" {
    mkdir adir
    printf 'a\t1 2\n' | mm-convert --to mmf -o a.mmf
    for cmd in "mm-info adir" "mm-convert adir --to tsv" "mm-rank -q a.mmf -g adir" \
        "mm-rank -q adir -g a.mmf" "mm-fuse a.mmf adir"; do
        run --separate-stderr $cmd
        [ "$status" -eq 1 ] || { echo "$cmd: status $status" >&2; return 1; }
        [ "$stderr" = "${cmd%% *}: adir: is a directory" ] || { echo "$cmd: $stderr" >&2; return 1; }
    done
}
