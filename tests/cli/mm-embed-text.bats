#!/usr/bin/env bats
# mm-embed-text: conformance with the tiny reference model end to end (text
# -> tokenizer -> text tower -> MMF), input formats, prompts, bad input.
load common

setup() {
    T=$(mktemp -d)
    REF="$MM_SHARED/ref/clip"
    M="$T/model"
    if [ -d "$REF" ]; then
        mkdir -p "$M"
        ln -s "$REF"/models/tiny/* "$REF"/tokenizer/* "$M"/
    fi
}
teardown() {
    rm -rf "$T"
}

# The manifest's captions as JSONL (ids c0..c19; some contain TAB and newline).
captions_jsonl() {
    "$MM_PYTHON" - "$REF/expected/tiny/manifest.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
for i, c in enumerate(m["captions"]):
    print(json.dumps({"id": f"c{i}", "text": c}, ensure_ascii=False))
EOF
}

# Max |a - b| between an MMF file and an expected .npy (rows in order).
mmf_vs_npy() { # $1 mmf, $2 npy
    mm-convert "$1" -o "$T/got.npy" --ids-out "$T/got.ids" || return 1
    "$MM_PYTHON" -c '
import numpy as np, sys
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
print(float(np.abs(a - b).max()) if a.shape == b.shape else "shape %s vs %s" % (a.shape, b.shape))
' "$T/got.npy" "$2"
}

@test "--help prints usage with defaults to stdout, status 0" {
    run mm-embed-text --help
    assert_status 0
    assert_output_contains "Usage: mm-embed-text"
    assert_output_contains "(default: 64)"
    assert_output_contains "--tokenize"
}

@test "--version and usage errors" {
    run mm-embed-text --version
    assert_status 0
    assert_output_contains "mmkit"
    MM_MODEL= run mm-embed-text /dev/null
    assert_status 2
    assert_output_contains "no model"
    run mm-embed-text --model x --bogus
    assert_status 2
    run mm-embed-text --model x --plain --jsonl
    assert_status 2
    run mm-embed-text --model x -b 0
    assert_status 2
    run mm-embed-text --model x --prompt 'no placeholder'
    assert_status 2
    assert_output_contains "{}"
    run mm-embed-text --model x --dtype f64
    assert_status 2
    run mm-embed-text --model x a b
    assert_status 2
}

@test "a missing model directory is a runtime error naming it" {
    run mm-embed-text --model "$T/nope" /dev/null
    assert_status 1
    assert_output_contains "$T/nope"
}

@test "text embeddings match the reference (normalised, 1e-4)" {
    need_shared
    captions_jsonl > "$T/c.jsonl"
    run mm-embed-text -m "$M" --jsonl "$T/c.jsonl" -o "$T/out.mmf"
    assert_status 0
    run mmf_vs_npy "$T/out.mmf" "$REF/expected/tiny/text_embeds_normalized.npy"
    echo "max diff: $output"
    "$MM_PYTHON" -c "import sys; sys.exit(0 if float('$output') <= 1e-4 else 1)"
    [ "$(head -1 "$T/got.ids")" = c0 ] && [ "$(tail -1 "$T/got.ids")" = c19 ]
    run mm-info "$T/out.mmf"
    assert_output_contains "model=clipref-random"
    assert_output_contains "modality=text"
    assert_output_contains "normalized"
}

@test "--no-normalize gives the projected embeddings (1e-4)" {
    need_shared
    captions_jsonl > "$T/c.jsonl"
    mm-embed-text -m "$M" --jsonl --no-normalize -b 7 "$T/c.jsonl" > "$T/out.mmf"
    run mmf_vs_npy "$T/out.mmf" "$REF/expected/tiny/text_embeds.npy"
    echo "max diff: $output"
    "$MM_PYTHON" -c "import sys; sys.exit(0 if float('$output') <= 1e-4 else 1)"
    run mm-info "$T/out.mmf"
    [[ "$output" != *normalized* ]]
}

@test "--tokenize prints the reference ids without padding" {
    need_shared
    captions_jsonl > "$T/c.jsonl"
    mm-embed-text -m "$M" --jsonl --tokenize -q "$T/c.jsonl" > "$T/tok.txt"
    "$MM_PYTHON" - "$REF/expected/tiny/manifest.json" "$T/tok.txt" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
lines = open(sys.argv[2]).read().splitlines()
assert len(lines) == len(m["caption_ids"]), len(lines)
for i, (line, ids) in enumerate(zip(lines, m["caption_ids"])):
    cid, toks = line.split("\t")
    assert cid == f"c{i}", cid
    assert [int(t) for t in toks.split()] == ids, (i, toks, ids)
EOF
}

@test "id<TAB>text, --plain and --jsonl give the same vectors" {
    need_shared
    printf 'a\ta photo of a cat\nb\ta diagram\n' > "$T/tab.txt"
    printf 'a photo of a cat\na diagram\n' > "$T/plain.txt"
    printf '{"id": "a", "text": "a photo of a cat"}\n\n{"id": 7, "text": "a diagram"}\n' > "$T/j.jsonl"
    mm-embed-text -m "$M" "$T/tab.txt" -o "$T/tab.mmf"
    mm-embed-text -m "$M" --plain < "$T/plain.txt" > "$T/plain.mmf"
    mm-embed-text -m "$M" --jsonl "$T/j.jsonl" > "$T/j.mmf"
    mm-convert "$T/tab.mmf" --to tsv | cut -f2 > "$T/tab.v"
    mm-convert "$T/plain.mmf" --to tsv | cut -f2 > "$T/plain.v"
    mm-convert "$T/j.mmf" --to tsv > "$T/j.tsv"
    cmp "$T/tab.v" "$T/plain.v"
    cut -f2 "$T/j.tsv" | cmp - "$T/tab.v"
    [ "$(mm-convert "$T/plain.mmf" --to tsv | cut -f1 | tr '\n' ' ')" = "1 2 " ]
    [ "$(cut -f1 "$T/j.tsv" | tr '\n' ' ')" = "a 7 " ]
}

@test "--prompt fills the template; several prompts are ensembled" {
    need_shared
    printf 'k\tcat\n' > "$T/in.txt"
    run mm-embed-text -m "$M" --tokenize --prompt 'a photo of a {}' "$T/in.txt"
    assert_status 0
    [ "$output" = "k	49406 320 1125 539 320 2368 49407" ]
    mm-embed-text -m "$M" -p 'a photo of a {}' "$T/in.txt" > "$T/p1.mmf"
    mm-embed-text -m "$M" -p 'a {} in china' "$T/in.txt" > "$T/p2.mmf"
    printf 'a photo of a {}\na {} in china\n' > "$T/tpl.txt"
    mm-embed-text -m "$M" --prompts "$T/tpl.txt" "$T/in.txt" > "$T/ens.mmf"
    run mm-info "$T/ens.mmf"
    assert_output_contains "prompts=2"
    for f in p1 p2 ens; do mm-convert "$T/$f.mmf" -o "$T/$f.npy"; done
    "$MM_PYTHON" - "$T" <<'EOF'
import numpy as np, sys
d = sys.argv[1]
p1, p2, ens = (np.load(f"{d}/{n}.npy")[0].astype(np.float64) for n in ("p1", "p2", "ens"))
m = (p1 + p2) / 2
m /= np.linalg.norm(m)
assert np.abs(m - ens).max() < 1e-6, np.abs(m - ens).max()
assert np.abs(p1 - p2).max() > 1e-3
EOF
}

@test "batch size does not change the result beyond rounding" {
    need_shared
    captions_jsonl > "$T/c.jsonl"
    mm-embed-text -m "$M" --jsonl -b 1 "$T/c.jsonl" > "$T/b1.mmf"
    mm-embed-text -m "$M" --jsonl -b 64 -t 2 "$T/c.jsonl" > "$T/b64.mmf"
    mm-convert "$T/b64.mmf" -o "$T/b64.npy"
    run mmf_vs_npy "$T/b1.mmf" "$T/b64.npy"
    echo "max diff: $output"
    "$MM_PYTHON" -c "import sys; sys.exit(0 if float('$output') <= 1e-5 else 1)"
}

@test "empty input gives a valid empty stream; f16 output" {
    need_shared
    run mm-embed-text -m "$M" -o "$T/e.mmf" /dev/null
    assert_status 0
    run mm-info "$T/e.mmf"
    assert_status 0
    assert_output_contains "0 records"
    printf 'x\thello\n' | mm-embed-text -m "$M" --dtype f16 > "$T/h.mmf"
    run mm-info "$T/h.mmf"
    assert_output_contains "f16"
}

@test "a line without TAB stops with file:line and leaves -o untouched" {
    need_shared
    printf 'a\tok\nno tab here\n' > "$T/bad.txt"
    run mm-embed-text -m "$M" -o "$T/out.mmf" "$T/bad.txt"
    assert_status 1
    assert_output_contains "mm-embed-text: $T/bad.txt:2:"
    [ ! -e "$T/out.mmf" ]
    [ -z "$(ls "$T" | grep tmp)" ]
}

@test "bad JSONL lines are errors with their line number" {
    need_shared
    printf '{"id": "a", "text": "ok"}\n{"id": "b", "text": \n' > "$T/bad.jsonl"
    run mm-embed-text -m "$M" --jsonl "$T/bad.jsonl"
    assert_status 1
    assert_output_contains "bad.jsonl:2:"
    printf '{"id": [1], "text": "x"}\n' > "$T/bad2.jsonl"
    run mm-embed-text -m "$M" --jsonl "$T/bad2.jsonl"
    assert_status 1
    assert_output_contains "bad2.jsonl:1:"
    printf '{"text": "x"}\n' > "$T/bad3.jsonl"
    run mm-embed-text -m "$M" --jsonl "$T/bad3.jsonl"
    assert_status 1
    printf '\tx\n' > "$T/emptyid.txt"
    run mm-embed-text -m "$M" "$T/emptyid.txt"
    assert_status 1
    assert_output_contains "empty id"
}

@test "invalid UTF-8 is an error naming the line" {
    need_shared
    printf 'a\tfine\nb\tbad \xff byte\n' > "$T/u.txt"
    run mm-embed-text -m "$M" "$T/u.txt"
    assert_status 1
    assert_output_contains "u.txt:2:"
    assert_output_contains "UTF-8"
}

@test "a long text is truncated to the context, with a note" {
    need_shared
    long=$(printf 'word %.0s' $(seq 100))
    printf 'x\t%s\n' "$long" > "$T/long.txt"
    run mm-embed-text -m "$M" --tokenize "$T/long.txt"
    assert_status 0
    [ "$(echo "$output" | grep -v warning | cut -f2 | wc -w)" = 77 ]
    assert_output_contains "truncated"
    run mm-embed-text -m "$M" -q -o "$T/l.mmf" "$T/long.txt"
    assert_status 0
    [ -z "$output" ]
}

@test "a corrupt checkpoint is refused with the tensor named" {
    need_shared
    mkdir "$T/bad"
    cp "$REF"/models/tiny/config.json "$REF"/tokenizer/* "$T/bad/"
    head -c 1000000 "$REF/models/tiny/model.safetensors" > "$T/bad/model.safetensors"
    run mm-embed-text -m "$T/bad" /dev/null
    assert_status 1
    assert_output_contains "model.safetensors"
    assert_output_contains "truncated"
}
