#!/usr/bin/env bats
# -o FILE is atomic for every program that has it (lib/core/cli.h): killed
# with SIGKILL half-way, a program leaves the old FILE as it was and nothing
# beside it, because the output is an unnamed O_TMPFILE until the commit.
# Each case blocks the program on a FIFO input after it has opened its output,
# checks in /proc that the open output is such an unnamed file, then kills it.
load common
bats_require_minimum_version 1.5.0

setup() {
    cd "$BATS_TEST_TMPDIR" || return 1
    MODEL="$MM_REPO/models/default"
    printf 'a\t1 2\nb\t3 4\n' | mm-convert --to mmf -o a.mmf
    printf 'q1 Q0 a 1 0.9 x\nq1 Q0 b 2 0.5 x\n' > a.trec
    printf 'q1 0 a 1\n' > a.qrels
}

# kill9 OUT FEED CMD...: CMD reads in.fifo; the first 40 bytes of FEED are
# written into it, so CMD waits for more with its output open.
kill9() {
    local out=$1 feed=$2 st=0 open=0 fd
    shift 2
    rm -f in.fifo && mkfifo in.fifo
    echo "precious" > "$out"
    exec 7<> in.fifo
    : > err.txt
    local before
    before=$(ls -a)
    "$@" 2> err.txt &
    local pid=$!
    head -c 40 "$feed" >&7
    for _ in $(seq 200); do
        for fd in /proc/"$pid"/fd/*; do
            [[ "$(readlink "$fd" 2> /dev/null)" == "$PWD/#"*" (deleted)" ]] && open=1
        done
        [ "$open" = 1 ] && break
        kill -0 "$pid" 2> /dev/null || break
        sleep 0.05
    done
    kill -9 "$pid" 2> /dev/null
    wait "$pid" || st=$?
    exec 7>&-
    if [ "$open" != 1 ]; then
        echo "$1: no unnamed output file was seen open (status $st): $(cat err.txt)" >&2
        return 1
    fi
    [ "$st" -eq 137 ] || { echo "$1: status $st" >&2; return 1; }
    [ "$(cat "$out")" = "precious" ] || { echo "$1: $out was changed" >&2; return 1; }
    [ "$(ls -a)" = "$before" ] || { echo "$1: left: $(ls -a)" >&2; return 1; }
}

@test "kill -9 half-way: every program with -o keeps the old file and leaves nothing" {
    kill9 out.mmf a.mmf mm-convert --from mmf in.fifo -o out.mmf
    kill9 out.mmf "$MM_REPO/data/demo/images/d-i0001.jpg" \
        mm-embed-image --model "$MODEL" -t 1 in.fifo -o out.mmf
    kill9 out.mmf "$MM_REPO/data/demo/captions.tsv" \
        mm-embed-text --model "$MODEL" -t 1 in.fifo -o out.mmf
    kill9 out.trec a.mmf sh -c 'exec mm-rank -q a.mmf -g - -k 1 -o out.trec < in.fifo'
    kill9 out.trec a.trec mm-fuse --runs a.trec in.fifo -o out.trec
    kill9 out.txt a.trec mm-eval a.qrels in.fifo -o out.txt
    printf 'a\tx\nb\ty\n' > a.labels
    mm-train -q --labels a.labels --epochs 1 -o head a.mmf
    kill9 out.txt a.mmf mm-predict --head head in.fifo -o out.txt
    kill9 out.html a.trec mm-report -q --qrels a.qrels -o out.html in.fifo
    # every program whose --help offers -o is covered above; mm-train's -o is
    # a directory, replaced by rename (tests/cli/mm-train.bats)
    for p in "$MM_BIN"/mm-*; do
        p=$(basename "$p")
        "$p" --help | grep -q -- '-o, --output' || continue
        case $p in mm-convert|mm-embed-image|mm-embed-text|mm-rank|mm-fuse|mm-eval|mm-predict|mm-report|mm-train) ;;
        *) echo "$p has -o but no kill -9 case here" >&2; return 1 ;; esac
    done
}

@test "kill -9: a new output file does not appear at all" {
    rm -f in.fifo && mkfifo in.fifo
    exec 7<> in.fifo
    mm-convert --from mmf in.fifo -o new.mmf &
    pid=$!
    head -c 40 a.mmf >&7
    sleep 0.3
    kill -9 "$pid"
    wait "$pid" || true
    exec 7>&-
    [ ! -e new.mmf ]
    [ -z "$(ls -a | grep '\.tmp\.')" ]
}

@test "-o commits by linking the unnamed file: new file, replaced file, permissions" {
    (umask 022 && mm-convert a.mmf -o new.mmf)
    [ "$(stat -c %a new.mmf)" = 644 ]
    cmp a.mmf new.mmf
    printf 'c\t5 6\n' | mm-convert --to mmf -o new.mmf
    [ "$(mm-info --ids new.mmf)" = c ]
    [ -z "$(ls -a | grep '\.tmp\.')" ]
}

@test "fallback without O_TMPFILE (MM_NO_O_TMPFILE=1): a named temporary, renamed; SIGTERM removes it" {
    echo "precious" > out.mmf
    mkfifo fifo
    exec 7<> fifo
    MM_NO_O_TMPFILE=1 mm-convert --from mmf fifo -o out.mmf &
    pid=$!
    head -c 40 a.mmf >&7
    for _ in $(seq 100); do
        ls -a | grep -q '^out\.mmf\.tmp\.' && break
        sleep 0.05
    done
    ls -a | grep -q '^out\.mmf\.tmp\.'
    kill -TERM "$pid"
    wait "$pid" || st=$?
    exec 7>&-
    [ "${st:-0}" -eq 143 ]
    [ "$(cat out.mmf)" = "precious" ]
    [ -z "$(ls -a | grep '\.tmp\.')" ]
    (umask 027 && MM_NO_O_TMPFILE=1 mm-convert a.mmf -o out.mmf)
    cmp a.mmf out.mmf
    [ "$(stat -c %a out.mmf)" = 640 ]
}
