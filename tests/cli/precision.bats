#!/usr/bin/env bats
# --precision bf16 (mm-embed-image, mm-embed-text): the linear layers on
# bfloat16 weights where the CPU has AVX512_BF16. The embeddings stay close to
# float32's, are labelled in the MMF header, do not depend on the thread
# count, and a CPU (or MM_ISA) without AVX512_BF16 is refused with nothing
# written.
bats_require_minimum_version 1.5.0
load common

M="$MM_REPO/models/default"

setup() {
    cd "$BATS_TEST_TMPDIR"
    demo_slice 8
}

have_bf16() {
    mm-info --cpu | grep -q '^features:.* avx512bf16' && mm-info --cpu | grep -q '^levels:.* avx512'
}

# cosine of each row of A.npy to the same row of B.npy: fails below $3
min_cosine() {
    "$MM_PYTHON" -c '
import numpy as np, sys
a = np.load(sys.argv[1]).astype(np.float64); b = np.load(sys.argv[2]).astype(np.float64)
assert a.shape == b.shape, (a.shape, b.shape)
c = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
print(c.min()); sys.exit(0 if c.min() >= float(sys.argv[3]) else 1)' "$@"
}

@test "--precision bf16: embeddings within cosine 0.999 of float32, header says precision=bf16" {
    have_bf16 || skip "this CPU has no AVX512_BF16"
    for p in f32 bf16; do
        mm-embed-image -q -m "$M" --precision $p --list images.tsv -o img-$p.mmf
        mm-embed-text -q -m "$M" --precision $p captions.tsv -o txt-$p.mmf
        mm-convert -q img-$p.mmf -o img-$p.npy
        mm-convert -q txt-$p.mmf -o txt-$p.npy
    done
    min_cosine img-f32.npy img-bf16.npy 0.999
    min_cosine txt-f32.npy txt-bf16.npy 0.999
    ! cmp -s img-f32.npy img-bf16.npy # it did run in bf16
    run mm-info img-bf16.mmf
    assert_output_contains "precision=bf16"
    run mm-info img-f32.mmf
    [[ "$output" != *precision=* ]]
}

@test "--precision bf16: the same bits for -t 1 and -t 2 and any batch size" {
    have_bf16 || skip "this CPU has no AVX512_BF16"
    mm-embed-image -q -m "$M" --precision bf16 -t 1 -b 8 --list images.tsv -o a.mmf
    mm-embed-image -q -m "$M" --precision bf16 -t 2 -b 3 --list images.tsv -o b.mmf
    cmp a.mmf b.mmf
    mm-embed-text -q -m "$M" --precision bf16 -t 1 -b 8 captions.tsv -o c.mmf
    mm-embed-text -q -m "$M" --precision bf16 -t 2 -b 3 captions.tsv -o d.mmf
    cmp c.mmf d.mmf
}

@test "--precision bf16 without AVX512_BF16 (MM_ISA=avx2 here): status 1, the reason, no output file" {
    if have_bf16; then
        cmd=(env MM_ISA=avx2)
    else
        cmd=(env)
    fi
    run --separate-stderr "${cmd[@]}" mm-embed-image -m "$M" --precision bf16 --list images.tsv -o out.mmf
    assert_status 1
    [[ "$stderr" == *"--precision bf16: bf16 precision needs a CPU with AVX512_BF16"* ]]
    [ ! -e out.mmf ]
    run --separate-stderr "${cmd[@]}" mm-embed-text -m "$M" --precision bf16 captions.tsv -o out.mmf
    assert_status 1
    [ ! -e out.mmf ]
}

@test "--precision: anything but f32 or bf16 is a usage error" {
    run --separate-stderr mm-embed-image -m "$M" --precision f16 --list images.tsv
    assert_status 2
    [[ "$stderr" == *"option --precision: 'f16' is not f32 or bf16"* ]]
    run --separate-stderr mm-embed-text -m "$M" --precision int8 captions.tsv
    assert_status 2
}
