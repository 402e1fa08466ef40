#!/usr/bin/env bats
# Options spelled and named the same way in every program: a bad option
# argument is reported under the option's long name whichever form was typed
# (-t and --threads both say "option --threads"), and options that several
# programs share mean the same thing (-k 0 = all; --output-norm N).
load common
bats_require_minimum_version 1.5.0

setup() {
    cd "$BATS_TEST_TMPDIR" || return 1
    printf 'a\t1\t0\nb\t0\t1\n' > v.tsv
    mm-convert v.tsv -o v.mmf
}

# usage error (status 2) whose message names the option by its long form
bad_arg() { # PROGRAM LONG-NAME ARGS...
    local prog=$1 name=$2
    shift 2
    run --separate-stderr "$prog" "$@"
    if [ "$status" -ne 2 ] || [[ "$stderr" != *"$prog: option $name: "* ]]; then
        echo "$prog $*: status $status, stderr: $stderr" >&2
        return 1
    fi
}

@test "numeric option errors name the long option, for the short and the long form" {
    for form in -t --threads; do
        bad_arg mm-rank --threads -q v.mmf -g v.mmf $form 0
        bad_arg mm-embed-text --threads $form x
        bad_arg mm-embed-image --threads $form 0
        bad_arg mm-predict --threads --head h $form 0 v.mmf
        bad_arg mm-train --threads $form 0 v.mmf
    done
    for form in -k --k; do
        bad_arg mm-rank --k -q v.mmf -g v.mmf $form -1
        bad_arg mm-fuse --k --runs $form x r.trec
        bad_arg mm-predict --k --head h $form -2 v.mmf
    done
    bad_arg mm-eval --level_for_rel -l abc q r
    bad_arg mm-eval --Max_retrieved_per_topic -M 0 q r
    bad_arg mm-eval --Rel_info_format -R xml q r
    bad_arg mm-rank --metric -q v.mmf -g v.mmf --metric l3
    bad_arg mm-rank --format -q v.mmf -g v.mmf --format csv
    bad_arg mm-convert --dtype --dtype f64 v.mmf
    bad_arg mm-convert --output-norm --output-norm zscore v.mmf
    bad_arg mm-embed-text --dtype --dtype f64 x
}

@test "-k 0 means all in mm-rank, mm-fuse and mm-predict; their --help says so" {
    mm-rank -q v.mmf -g v.mmf -k 0 > r.trec
    [ "$(wc -l < r.trec)" -eq 4 ]
    mm-fuse --runs -k 0 r.trec r.trec > f.trec
    [ "$(wc -l < f.trec)" -eq 4 ]
    for prog in mm-rank mm-fuse mm-predict; do
        run --separate-stderr "$prog" --help
        assert_output_contains "0 = all"
    done
}

@test "--output-norm N in mm-convert and mm-fuse; --normalize stays as the older spelling of each" {
    printf 'a\t3\t4\nb\t0\t2\n' > w.tsv
    mm-convert w.tsv --output-norm l2 --to tsv > a.tsv
    mm-convert w.tsv --normalize --to tsv > b.tsv
    diff a.tsv b.tsv
    printf 'a\t0.600000024 0.800000012\nb\t0 1\n' > want.tsv
    diff want.tsv a.tsv
    mm-convert w.tsv --to tsv > plain.tsv
    mm-convert w.tsv --output-norm none --to tsv | diff plain.tsv -
    mm-convert w.tsv -o w.mmf
    mm-fuse --output-norm l2 w.mmf | mm-convert --to tsv > c.tsv
    mm-fuse --normalize l2 w.mmf | mm-convert --to tsv > d.tsv
    diff want.tsv c.tsv
    diff c.tsv d.tsv
    run --separate-stderr mm-convert --help
    assert_output_contains "--output-norm N"
    run --separate-stderr mm-fuse --help
    assert_output_contains "--output-norm N"
    assert_output_contains "--normalize N is the same option"
}

@test "a missing model file: 'PROG: PATH: No such file or directory', the path named once" {
    mkdir m
    for prog in mm-embed-text mm-embed-image; do
        run --separate-stderr "$prog" -m m v.tsv
        assert_status 1
        [ "$stderr" = "$prog: m/config.json: No such file or directory" ]
    done
    run --separate-stderr mm-predict --head m v.mmf
    assert_status 1
    [ "$stderr" = "mm-predict: m/config.json: No such file or directory" ]
    echo '{' > m/config.json
    run --separate-stderr mm-embed-text -m m v.tsv
    assert_status 1
    [[ "$stderr" == "mm-embed-text: m/config.json:2: invalid JSON: "* ]]
}
