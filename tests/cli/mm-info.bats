#!/usr/bin/env bats
# mm-info: summary, --ids, --json, and every way a stream can be bad.
load common
bats_require_minimum_version 1.5.0

setup() {
    cd "$BATS_TEST_TMPDIR" || return 1
    # a: 3 records of dim 2 (f32); b: 2 records of dim 2 (f16, normalized, metadata)
    printf 'a1\t1 2\na2\t3 4\n\xc3\xa9\xe2\x82\xac\t-0.5 0.25\n' | mm-convert --to mmf -o a.mmf
    printf 'b1\t0.6 0.8\nb2\t1 0\n' | mm-convert --dtype f16 --normalize \
        --meta model=test-model --meta modality=text -o b.mmf
}

@test "mm-info --help: usage on stdout, status 0, nothing on stderr" {
    run --separate-stderr mm-info --help
    assert_status 0
    assert_output_contains "Usage: mm-info"
    assert_output_contains "--ids"
    assert_output_contains "--json"
    assert_output_contains "--quiet"
    assert_output_contains "Exit status"
    [ -z "$stderr" ]
    run mm-info -h
    assert_status 0
    assert_output_contains "Usage: mm-info"
}

@test "mm-info --version: name, (mmkit) and a version number" {
    run --separate-stderr mm-info --version
    assert_status 0
    [[ "$output" =~ ^mm-info\ \(mmkit\)\ [0-9]+\.[0-9]+\.[0-9]+ ]]
    [ -z "$stderr" ]
    run mm-info -V
    assert_status 0
}

@test "mm-info: unknown option is a usage error (status 2, hint on stderr, nothing on stdout)" {
    run --separate-stderr mm-info --no-such-option a.mmf
    assert_status 2
    [ -z "$output" ]
    [[ "$stderr" == *"no-such-option"* ]]
    [[ "$stderr" == *"Try 'mm-info --help' for more information."* ]]
    run --separate-stderr mm-info -Z a.mmf
    assert_status 2
    [[ "$stderr" == *"Try 'mm-info --help'"* ]]
}

@test "mm-info: --ids and --json together is a usage error" {
    run --separate-stderr mm-info --ids --json a.mmf
    assert_status 2
    [[ "$stderr" == *"Try 'mm-info --help'"* ]]
}

@test "mm-info: text summary of one file" {
    run --separate-stderr mm-info a.mmf
    assert_status 0
    [ -z "$stderr" ]
    assert_output_contains "a.mmf: 1 segment, 3 records"
    assert_output_contains "dim 2, f32"
    assert_output_contains "crc32c "
    run mm-info b.mmf
    assert_status 0
    assert_output_contains "b.mmf: 1 segment, 2 records"
    assert_output_contains "f16, normalized"
    assert_output_contains "model=test-model"
    assert_output_contains "modality=text"
}

@test "mm-info: cat a.mmf b.mmf | mm-info sums the counts" {
    run --separate-stderr bash -c 'cat a.mmf b.mmf | mm-info'
    assert_status 0
    assert_output_contains "(stdin): 2 segments, 5 records"
    assert_output_contains "segment 1: 3 records"
    assert_output_contains "segment 2: 2 records"
    # and three copies, read as "-"
    run bash -c 'cat a.mmf b.mmf a.mmf | mm-info -'
    assert_status 0
    assert_output_contains "3 segments, 8 records"
}

@test "mm-info: several files, one summary each" {
    run mm-info a.mmf b.mmf
    assert_status 0
    [ "$(grep -c ' segment, ' <<< "$output")" -eq 2 ]
    assert_output_contains "a.mmf: 1 segment, 3 records"
    assert_output_contains "b.mmf: 1 segment, 2 records"
}

@test "mm-info: segments of different dimension are described, not rejected" {
    printf 'c\t1 2 3\n' | mm-convert --to mmf -o c.mmf
    run bash -c 'cat a.mmf c.mmf | mm-info'
    assert_status 0
    assert_output_contains "2 segments, 4 records"
    assert_output_contains "dim 3"
}

@test "mm-info: head -c -5 is reported as truncated (status 1, names stdin and the byte)" {
    run --separate-stderr bash -c 'head -c -5 a.mmf | mm-info'
    assert_status 1
    [ -z "$output" ]
    [[ "$stderr" == "mm-info: (stdin): byte "*"truncated"* ]]
    run --separate-stderr bash -c 'head -c -5 a.mmf > cut.mmf; mm-info cut.mmf'
    assert_status 1
    [[ "$stderr" == "mm-info: cut.mmf: byte "*"truncated"* ]]
}

@test "mm-info: truncation at every byte offset is reported as truncated" {
    cat a.mmf b.mmf > ab.mmf
    size=$(stat -c %s ab.mmf) boundary=$(stat -c %s a.mmf)
    bad=0
    "$MM_PYTHON" -c '
d = open("ab.mmf", "rb").read()
for n in range(len(d)):
    open("cut%d.mmf" % n, "wb").write(d[:n])'
    for ((n = 0; n < size; n++)); do
        [ "$n" -eq "$boundary" ] && continue # a complete first segment
        if mm-info "cut$n.mmf" > out.txt 2> err.txt; then
            echo "cut at $n: accepted" >&2; bad=$((bad + 1))
        elif ! grep -q "truncated" err.txt; then
            echo "cut at $n: $(cat err.txt)" >&2; bad=$((bad + 1))
        fi
    done
    [ "$bad" -eq 0 ]
    # but the cut exactly at the segment boundary is a valid one-segment stream
    head -c "$(stat -c %s a.mmf)" ab.mmf > cut.mmf
    run mm-info cut.mmf
    assert_status 0
}

@test "mm-info: every flipped byte is reported as corrupt or malformed" {
    # one Python run writes every variant (bit 5 flipped at each offset)
    "$MM_PYTHON" -c '
d = open("b.mmf", "rb").read()
for i in range(len(d)):
    e = bytearray(d); e[i] ^= 0x20
    open("flip%d.mmf" % i, "wb").write(e)'
    size=$(stat -c %s b.mmf)
    bad=0
    for ((i = 0; i < size; i++)); do
        if mm-info "flip$i.mmf" > out.txt 2> err.txt; then
            echo "flip at $i: accepted" >&2; bad=$((bad + 1))
        elif ! grep -Eq ": (corrupt|malformed|limit exceeded|unsupported): " err.txt; then
            echo "flip at $i: $(cat err.txt)" >&2; bad=$((bad + 1))
        fi
    done
    [ "$bad" -eq 0 ]
}

@test "mm-info: a flipped payload byte says corrupt and names the file and byte" {
    # the last record's last payload byte is 14 bytes before the end (13-byte end marker)
    size=$(stat -c %s a.mmf)
    "$MM_PYTHON" -c '
import sys
d = bytearray(open("a.mmf", "rb").read()); d[len(d) - 14] ^= 1
open("flip.mmf", "wb").write(d)'
    run --separate-stderr mm-info flip.mmf
    assert_status 1
    [[ "$stderr" == "mm-info: flip.mmf: byte "*": corrupt"* ]]
}

@test "mm-info: empty input is an error (not an empty valid stream)" {
    : > empty.mmf
    run --separate-stderr mm-info < empty.mmf
    assert_status 1
    [[ "$stderr" == "mm-info: (stdin): byte 0: truncated: empty input"* ]]
    run --separate-stderr mm-info empty.mmf
    assert_status 1
    [[ "$stderr" == *"empty.mmf"*"truncated"* ]]
}

@test "mm-info: non-MMF input is rejected as malformed" {
    printf 'a\t1 2\n' > x.tsv
    run --separate-stderr mm-info x.tsv
    assert_status 1
    [[ "$stderr" == "mm-info: x.tsv: byte 0: malformed: not an MMF"* ]]
    head -c 4096 /dev/zero > zero.bin
    run --separate-stderr mm-info zero.bin
    assert_status 1
    [[ "$stderr" == *"zero.bin"*"malformed"* ]]
    "$MM_PYTHON" -c 'import numpy as np; np.save("x.npy", np.zeros((2, 2), np.float32))'
    run --separate-stderr mm-info x.npy
    assert_status 1
    [[ "$stderr" == *"x.npy"*"not an MMF"* ]]
}

@test "mm-info: garbage after a valid segment is malformed" {
    { cat a.mmf; printf 'junk'; } > junk.mmf
    run --separate-stderr mm-info junk.mmf
    assert_status 1
    [[ "$stderr" == *"junk.mmf"*"malformed"* ]]
}

@test "mm-info: a missing file is reported and the other files are still summarised" {
    run --separate-stderr mm-info a.mmf missing.mmf b.mmf
    assert_status 1
    assert_output_contains "a.mmf: 1 segment, 3 records"
    assert_output_contains "b.mmf: 1 segment, 2 records"
    [[ "$stderr" == "mm-info: missing.mmf: No such file or directory" ]]
}

@test "mm-info --ids: one id per line, in order, across segments, UTF-8 intact" {
    run --separate-stderr bash -c 'cat a.mmf b.mmf | mm-info --ids'
    assert_status 0
    [ -z "$stderr" ]
    [ "$output" = "$(printf 'a1\na2\n\xc3\xa9\xe2\x82\xac\nb1\nb2')" ]
    run mm-info -i b.mmf
    [ "$output" = "$(printf 'b1\nb2')" ]
}

@test "mm-info --json: one parseable object per file" {
    run --separate-stderr mm-info --json a.mmf b.mmf
    assert_status 0
    [ -z "$stderr" ]
    [ "${#lines[@]}" -eq 2 ]
    printf '%s\n' "$output" | "$MM_PYTHON" -c '
import json, sys
a, b = [json.loads(l) for l in sys.stdin]
assert a["file"] == "a.mmf" and a["valid"] is True and a["records"] == 3, a
assert len(a["segments"]) == 1
s = a["segments"][0]
assert s["records"] == 3 and s["dim"] == 2 and s["dtype"] == "f32", s
assert s["normalized"] is False
assert len(s["crc32c"]) == 8 and int(s["crc32c"], 16) >= 0
assert b["records"] == 2
t = b["segments"][0]
assert t["dtype"] == "f16" and t["normalized"] is True, t
assert t["meta"]["model"] == "test-model" and t["meta"]["modality"] == "text", t
'
}

@test "mm-info --json on a concatenation lists every segment" {
    run bash -c 'cat a.mmf b.mmf | mm-info -j'
    assert_status 0
    printf '%s\n' "$output" | "$MM_PYTHON" -c '
import json, sys
o = json.loads(sys.stdin.read())
assert o["file"] == "(stdin)" and o["records"] == 5
assert [s["records"] for s in o["segments"]] == [3, 2]
assert [s["dtype"] for s in o["segments"]] == ["f32", "f16"]
'
}

@test "mm-info --json: an invalid file prints no JSON and fails" {
    head -c -1 a.mmf > cut.mmf
    run --separate-stderr mm-info --json cut.mmf
    assert_status 1
    [ -z "$output" ]
    [[ "$stderr" == *"truncated"* ]]
}

@test "mm-info --quiet: nothing printed, the status tells" {
    run --separate-stderr mm-info --quiet a.mmf b.mmf
    assert_status 0
    [ -z "$output" ] && [ -z "$stderr" ]
    head -c -1 a.mmf > cut.mmf
    run --separate-stderr mm-info -q cut.mmf
    assert_status 1
    [ -z "$output" ] && [ -z "$stderr" ]
}

@test "mm-info: metadata of the largest legal size (MMF_MAX_META_LEN = 1 MiB) is read back" {
    # producer + source lines (37 bytes) + 9 items filling exactly N bytes of metadata
    cat > bigmeta.py <<'PY'
import subprocess, sys
remaining, args, i = int(sys.argv[1]) - 37, [], 0
while remaining > 0:
    key = "k%d" % i
    vlen = min(120000, remaining - len(key) - 2)
    args += ["--meta", "%s=%s" % (key, "v" * vlen)]
    remaining -= len(key) + vlen + 2
    i += 1
r = subprocess.run(["mm-convert", "--to", "mmf", "-o", sys.argv[2]] + args, input=b"a\t1 2\n")
sys.exit(r.returncode)
PY
    "$MM_PYTHON" bigmeta.py 1048576 big.mmf
    [ "$(stat -c %s big.mmf)" -eq $((24 + 1048576 + 4 + 5 + 1 + 8 + 13)) ]
    run --separate-stderr mm-info big.mmf
    echo "$stderr" >&2
    assert_status 0
    assert_output_contains "1 segment, 1 record"
    # one byte more is refused by the writer
    run --separate-stderr "$MM_PYTHON" bigmeta.py 1048577 too.mmf
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"metadata too large"* ]]
    [ ! -e too.mmf ]
}
