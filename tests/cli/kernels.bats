#!/usr/bin/env bats
# The run-time kernel table (lib/kernels/cpu.h): MM_ISA is checked by every
# program, every level this CPU runs gives the same numbers within float
# tolerance, and the default build runs on a baseline x86-64 CPU (qemu64:
# SSE2 only, no AVX) with the generic kernels.
bats_require_minimum_version 1.5.0
load common

M="$MM_REPO/models/default"

setup() {
    cd "$BATS_TEST_TMPDIR"
    demo_slice 6 # 6 images (jpg and png), 6 captions
}

# the levels this CPU runs, from mm-info --cpu
levels() {
    mm-info --cpu | sed -n 's/^levels: //p'
}

# embed the slice with the current environment into $1.{img,txt}.npy
embed_slice() {
    mm-embed-image -q -m "$M" --no-normalize --list images.tsv -o "$1.img.mmf"
    mm-embed-text -q -m "$M" --no-normalize captions.tsv -o "$1.txt.mmf"
    mm-convert -q "$1.img.mmf" -o "$1.img.npy"
    mm-convert -q "$1.txt.mmf" -o "$1.txt.npy"
}

@test "MM_ISA: an unknown value is a usage error (status 2) in every program" {
    for p in "$MM_BIN"/mm-*; do
        run --separate-stderr env MM_ISA=sse9 "$p" --version
        if [ "$status" -ne 2 ] || [[ "$stderr" != *"MM_ISA=sse9: unknown instruction set"* ]]; then
            echo "$(basename "$p"): status $status, stderr: $stderr" >&2
            return 1
        fi
    done
}

@test "MM_ISA: a level the CPU cannot run is refused, not silently replaced" {
    # a CPU without AVX2: qemu64 under qemu-user, or this one if it lacks AVX-512
    if command -v qemu-x86_64 >/dev/null && [ "$(uname -m)" = x86_64 ] && [ -z "${MM_CROSS:-}" ] && [ "${MM_SAN:-0}" != 1 ]; then
        run --separate-stderr env MM_ISA=avx2 qemu-x86_64 -cpu qemu64 "$MM_BIN/mm-embed-text" -m "$M" captions.tsv
    elif [[ " $(levels) " != *" avx512 "* ]]; then
        run --separate-stderr env MM_ISA=avx512 mm-embed-text -m "$M" captions.tsv
    else
        skip "needs qemu-user or a CPU without AVX-512"
    fi
    assert_status 2
    [[ "$stderr" == *"this CPU cannot run it"* ]]
    [ -z "$output" ]
}

@test "MM_ISA: mm-info --cpu names the level in use and why" {
    run env MM_ISA=generic mm-info --cpu
    assert_status 0
    assert_output_contains "kernels: generic (MM_ISA)"
    run env -u MM_ISA mm-info --cpu
    assert_status 0
    assert_output_contains "(the widest level this CPU runs)"
}

@test "MM_ISA=openblas: the default where the build has it, else refused naming why" {
    if [[ " $(levels) " == *" openblas "* ]]; then
        # a build for another architecture with OpenBLAS: the widest level
        run env -u MM_ISA mm-info --cpu
        assert_status 0
        assert_output_contains "kernels: openblas (the widest level this CPU runs)"
        run env MM_ISA=openblas mm-info --cpu
        assert_status 0
        assert_output_contains "kernels: openblas (MM_ISA)"
    else
        run --separate-stderr env MM_ISA=openblas mm-embed-text -m "$M" captions.tsv
        assert_status 2
        [[ "$stderr" == *"MM_ISA=openblas: this build has no OpenBLAS level"* ]]
        [ -z "$output" ]
    fi
}

@test "kernel levels: every level this CPU runs embeds within 1e-5 of generic, ranks and scores the same" {
    MM_ISA=generic embed_slice generic
    MM_ISA=generic mm-rank -q generic.txt.mmf -g generic.img.mmf -k 3 -o generic.run
    for isa in $(levels); do
        [ "$isa" = generic ] && continue
        MM_ISA=$isa embed_slice "$isa"
        run max_abs_diff "$isa.img.npy" generic.img.npy 1e-5
        echo "$isa image max |delta| = $output"
        assert_status 0
        run max_abs_diff "$isa.txt.npy" generic.txt.npy 1e-5
        echo "$isa text max |delta| = $output"
        assert_status 0
        # ranking the same features: same ids in the same order
        MM_ISA=$isa mm-rank -q generic.txt.mmf -g generic.img.mmf -k 3 -o "$isa.run"
        diff <(cut -d' ' -f1,3,4 generic.run) <(cut -d' ' -f1,3,4 "$isa.run")
    done
}

@test "baseline x86-64 (qemu64, no AVX): the core commands run on the generic kernels and agree with native" {
    command -v qemu-x86_64 >/dev/null || skip "needs qemu-user (scripts/install-deps)"
    [ "${MM_SAN:-0}" != 1 ] || skip "qemu-user cannot run ASan binaries (its shadow memory)"
    [ "$(uname -m)" = x86_64 ] || skip "x86-64 only"
    [ -z "${MM_CROSS:-}" ] || skip "x86-64 only (a $MM_CROSS build under scripts/check-cross)"
    Q="qemu-x86_64 -cpu qemu64"
    run $Q "$MM_BIN/mm-info" --cpu
    assert_status 0
    assert_output_contains "kernels: generic"
    embed_slice native
    $Q "$MM_BIN/mm-embed-image" -q -m "$M" --no-normalize --list images.tsv -o q.img.mmf
    $Q "$MM_BIN/mm-embed-text" -q -m "$M" --no-normalize captions.tsv -o q.txt.mmf
    $Q "$MM_BIN/mm-convert" -q q.img.mmf -o q.img.npy
    $Q "$MM_BIN/mm-convert" -q q.txt.mmf -o q.txt.npy
    run max_abs_diff q.img.npy native.img.npy 1e-5
    echo "image max |delta| = $output"
    assert_status 0
    run max_abs_diff q.txt.npy native.txt.npy 1e-5
    echo "text max |delta| = $output"
    assert_status 0
    $Q "$MM_BIN/mm-info" -q q.img.mmf q.txt.mmf
    # rank, fuse and eval on the same (native) features: the same ranking
    mm-rank --metric cos -q native.txt.mmf -g native.img.mmf -k 3 -o native.run
    $Q "$MM_BIN/mm-rank" --metric cos -q native.txt.mmf -g native.img.mmf -k 3 -o q.run
    diff <(cut -d' ' -f1,3,4 native.run) <(cut -d' ' -f1,3,4 q.run)
    awk '{print $1, 0, $3, 1}' native.run > qrels
    diff <(mm-eval -m recip_rank qrels native.run) <($Q "$MM_BIN/mm-eval" -m recip_rank qrels q.run)
    cmp <(mm-fuse -q --runs native.run q.run) <($Q "$MM_BIN/mm-fuse" -q --runs native.run q.run)
    cmp <(mm-fuse -q -m mean native.img.mmf native.img.mmf) \
        <($Q "$MM_BIN/mm-fuse" -q -m mean native.img.mmf native.img.mmf)
}
