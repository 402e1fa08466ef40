#!/usr/bin/env bats
# mm-embed-image, model step: end-to-end conformance with the tiny reference
# model (image files -> exact preprocessing -> vision tower -> MMF),
# --keep-going, --skip-existing (incremental appends), output options.
bats_require_minimum_version 1.5.0
load common

setup() {
    T=$(mktemp -d)
    REF="$MM_SHARED/ref/clip"
    M="$T/model"
    if [ -d "$REF" ]; then
        mkdir -p "$M" "$T/imgs"
        ln -s "$REF"/models/tiny/* "$REF"/tokenizer/* "$M"/
        cp "$REF"/images/*.png "$REF"/images/*.jpg "$T/imgs/"
    fi
}
teardown() {
    rm -rf "$T"
}

# Max |diff| of each output row against image_embeds(_normalized).npy, rows
# matched by file stem through the manifest's image order.
compare_to_ref() { # $1 mmf, $2 expected npy name
    mm-convert "$1" -o "$T/got.npy" --ids-out "$T/got.ids" || return 1
    "$MM_PYTHON" - "$REF" "$T/got.npy" "$T/got.ids" "$2" <<'EOF'
import json, os, sys
import numpy as np
ref, got, ids, name = sys.argv[1:5]
m = json.load(open(os.path.join(ref, "expected/tiny/manifest.json")))
row = {os.path.splitext(os.path.basename(p))[0]: i for i, p in enumerate(m["images"])}
e = np.load(os.path.join(ref, "expected/tiny", name + ".npy"))
g = np.load(got)
ids = open(ids).read().split("\n")[: len(g)]
print(max(float(np.abs(g[i] - e[row[os.path.splitext(os.path.basename(p))[0]]]).max()) for i, p in enumerate(ids)))
EOF
}

@test "image files end to end: embeddings within 1e-3 of the reference (normalised and not)" {
    need_shared
    run mm-embed-image -m "$M" "$T/imgs" -o "$T/out.mmf"
    assert_status 0
    run compare_to_ref "$T/out.mmf" image_embeds_normalized
    echo "max diff: $output"
    "$MM_PYTHON" -c "import sys; sys.exit(0 if float('$output') <= 1e-3 else 1)"
    [ "$(wc -l < "$T/got.ids")" = 5 ]
    run mm-info "$T/out.mmf"
    assert_output_contains "modality=image"
    assert_output_contains "model=clipref-random"
    assert_output_contains "normalized"
    mm-embed-image -m "$M" --no-normalize -b 2 -t 2 "$T/imgs" > "$T/raw.mmf"
    run compare_to_ref "$T/raw.mmf" image_embeds
    echo "max diff: $output"
    "$MM_PYTHON" -c "import sys; sys.exit(0 if float('$output') <= 1e-3 else 1)"
}

@test "--keep-going skips unreadable images, counts them, exit status 3" {
    need_shared
    : > "$T/imgs/empty.png"
    run mm-embed-image -m "$M" --keep-going "$T/imgs" -o "$T/kg.mmf"
    assert_status 3
    assert_output_contains "empty.png: empty file (skipped)"
    assert_output_contains "1 of 6 images skipped"
    run mm-info "$T/kg.mmf"
    assert_output_contains "5 records"
    # without it the run stops and -o is not written
    run mm-embed-image -m "$M" "$T/imgs" -o "$T/stop.mmf"
    assert_status 1
    assert_output_contains "empty.png: empty file"
    [ ! -e "$T/stop.mmf" ]
}

@test "--skip-existing embeds only new ids and appends one segment atomically" {
    need_shared
    mkdir "$T/grow"
    cp "$T/imgs/china.jpg" "$T/imgs/gradient.png" "$T/grow/"
    run mm-embed-image -m "$M" --skip-existing "$T/db.mmf" "$T/grow"
    assert_status 0
    run mm-info "$T/db.mmf"
    assert_output_contains "1 segment, 2 records"
    cp "$T/imgs/checkerboard.png" "$T/grow/"
    run mm-embed-image -m "$M" --skip-existing "$T/db.mmf" "$T/grow"
    assert_status 0
    assert_output_contains "2 of 3 images already in"
    run mm-info "$T/db.mmf"
    assert_output_contains "2 segments, 3 records"
    # the result equals a fresh run over all three (same ids, same vectors)
    mm-embed-image -m "$M" "$T/grow" -o "$T/fresh.mmf"
    diff <(mm-convert "$T/db.mmf" --to tsv | sort) <(mm-convert "$T/fresh.mmf" --to tsv | sort)
    # nothing new: the file is not touched
    before=$(md5sum < "$T/db.mmf")
    run mm-embed-image -m "$M" --skip-existing "$T/db.mmf" "$T/grow"
    assert_status 0
    [ "$(md5sum < "$T/db.mmf")" = "$before" ]
}

@test "--skip-existing refuses a damaged or foreign file and leaves it as it was" {
    need_shared
    mm-embed-image -m "$M" "$T/imgs/china.jpg" -o "$T/db.mmf"
    head -c -3 "$T/db.mmf" > "$T/cut.mmf"
    run mm-embed-image -m "$M" --skip-existing "$T/cut.mmf" "$T/imgs"
    assert_status 1
    assert_output_contains "cut.mmf"
    [ "$(stat -c %s "$T/cut.mmf")" = $(( $(stat -c %s "$T/db.mmf") - 3 )) ]
    mm-convert "$T/db.mmf" --to tsv | mm-convert --from tsv --meta model=other -o "$T/other.mmf"
    run mm-embed-image -m "$M" --skip-existing "$T/other.mmf" "$T/imgs"
    assert_status 1
    assert_output_contains "model 'other'"
    run mm-embed-image -m "$M" --skip-existing "$T/db.mmf" -o "$T/elsewhere.mmf" "$T/imgs"
    assert_status 2
}

@test "model options: usage errors and a bad model" {
    need_shared
    run mm-embed-image -m "$M" --check -o "$T/x.mmf" "$T/imgs"
    assert_status 2
    run mm-embed-image -m "$M" --dtype f8 "$T/imgs"
    assert_status 2
    run mm-embed-image -m "$T/nope" "$T/imgs"
    assert_status 1
    assert_output_contains "$T/nope"
    mm-embed-image -m "$M" --dtype f16 "$T/imgs/gradient.png" > "$T/h.mmf"
    run mm-info "$T/h.mmf"
    assert_output_contains "f16"
}

@test "--id-stem: ids of file and directory inputs are file stems, so qrels keyed by image id match" {
    D="$MM_REPO/data/demo/images"
    run --separate-stderr mm-embed-image -q -m "$MM_REPO/models/default" --id-stem "$D/d-i0001.jpg" "$D/d-i0004.png" -o "$T/s.mmf"
    assert_status 0
    run mm-info --ids "$T/s.mmf"
    [ "$output" = "$(printf 'd-i0001\nd-i0004')" ]
    run --separate-stderr mm-embed-image -q -m "$MM_REPO/models/default" "$D/d-i0001.jpg" -o "$T/p.mmf"
    run mm-info --ids "$T/p.mmf"
    [ "$output" = "$D/d-i0001.jpg" ]
}
