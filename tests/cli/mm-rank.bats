#!/usr/bin/env bats
# mm-rank: exact top-k against a brute force, trec_eval tie order, every flag,
# streaming from pipes, shards and --merge, and every bad-input path.
load common
bats_require_minimum_version 1.5.0

setup() {
    cd "$BATS_TEST_TMPDIR" || return 1
}

# q.mmf (NQ x D) and g.mmf (NG x D) with values in multiples of 1/4, so every
# dot product is exact in float32 and ties are frequent; ids q0.. and g0...
make_exact() { # NQ NG D
    "$MM_PYTHON" - "$1" "$2" "$3" <<'EOF'
import sys, numpy as np
nq, ng, d = map(int, sys.argv[1:4])
rng = np.random.default_rng(5)
for name, n in (("q", nq), ("g", ng)):
    x = (rng.integers(-4, 5, size=(n, d)) / 4).astype(np.float32)
    np.save(name + ".npy", x)
    open(name + ".ids", "w").write("".join("%s%d\n" % (name, i) for i in range(n)))
EOF
    mm-convert --ids q.ids q.npy -o q.mmf
    mm-convert --ids g.ids g.npy -o g.mmf
}

# The expected run by brute force in Python: score desc, then docid by byte
# order descending (trec_eval's comp_sim_docno), scores printed with %.9g.
brute() { # K [exclude]
    "$MM_PYTHON" - "$@" <<'EOF'
import sys, numpy as np
k = int(sys.argv[1]); exclude = len(sys.argv) > 2
q, g = np.load("q.npy").astype(np.float64), np.load("g.npy").astype(np.float64)
qi = open("q.ids").read().split(); gi = open("g.ids").read().split()
s = q @ g.T
for a in range(len(qi)):
    items = [(s[a, b], gi[b]) for b in range(len(gi)) if not (exclude and gi[b] == qi[a])]
    items.sort(key=lambda t: (-t[0], [-c for c in t[1].encode()] + [1]))
    for r, (sc, doc) in enumerate(items[:k]):
        print("%s Q0 %s %d %s mm-rank" % (qi[a], doc, r + 1, "%.9g" % np.float32(sc)))
EOF
}

@test "mm-rank --help: usage on stdout with every flag and default, status 0" {
    run --separate-stderr mm-rank --help
    assert_status 0
    [ -z "$stderr" ]
    assert_output_contains "Usage: mm-rank -q QUERIES -g GALLERY"
    for opt in --queries --gallery --k --metric --output --tag --format --exclude-self \
               --allow-nonfinite --no-dup-check --threads --block --merge --progress --quiet \
               --help --version; do
        assert_output_contains "$opt"
    done
    assert_output_contains "default 10"
    assert_output_contains "default 4096"
    assert_output_contains "default mm-rank"
    assert_output_contains "141"
}

@test "mm-rank --version" {
    run --separate-stderr mm-rank --version
    assert_status 0
    [[ "$output" =~ ^mm-rank\ \(mmkit\)\ [0-9]+\.[0-9]+\.[0-9]+ ]]
}

@test "mm-rank: usage errors exit 2 with a hint and write nothing" {
    make_exact 2 3 4
    for args in "-g g.mmf" "-q q.mmf" "-q q.mmf -g g.mmf -k -3" \
                "-q q.mmf -g g.mmf -k ten" "-q q.mmf -g g.mmf --metric l2" \
                "-q q.mmf -g g.mmf --format csv" "-q q.mmf -g g.mmf -t 0" \
                "-q q.mmf -g g.mmf --block 0" "-q - -g -" "-q q.mmf -g g.mmf extra" \
                "--merge -q q.mmf run" "--merge" "--merge - -" "--bogus" \
                "-q q.mmf -g g.mmf -o out.trec -k ten"; do
        run --separate-stderr mm-rank $args
        if [ "$status" -ne 2 ] || [[ "$stderr" != *"Try 'mm-rank --help' for more information."* ]]; then
            echo "args: $args -> status $status, stderr: $stderr" >&2
            return 1
        fi
        [ -z "$output" ]
    done
    run --separate-stderr mm-rank -q q.mmf -g g.mmf --tag "two words"
    assert_status 2
    [ ! -e out.trec ]
}

@test "mm-rank: exact top-k equals a brute force, ties in trec_eval order (k 1, 5, > gallery)" {
    make_exact 37 301 6
    for k in 1 5 400; do
        mm-rank -q q.mmf -g g.mmf -k $k > got.trec
        brute $k > want.trec
        diff want.trec got.trec
    done
    # ties really happen in this data
    [ "$(awk '{print $1, $5}' got.trec | sort | uniq -d | wc -l)" -gt 10 ]
    # k > gallery: every gallery item, once per query
    [ "$(wc -l < got.trec)" -eq $((37 * 301)) ]
}

@test "mm-rank: ranks agree with trec_eval's re-sort (score desc, docid strcmp desc)" {
    # all scores tie: the order is by docid descending, as bytes
    printf 'q\t1 0\n' > q.tsv
    printf 'doc10\t1 0\ndoc2\t1 0\na\t1 0\nA\t1 0\n_x\t1 0\n9\t1 0\n' > g.tsv
    mm-convert q.tsv -o q.mmf
    mm-convert g.tsv -o g.mmf
    run --separate-stderr mm-rank -q q.mmf -g g.mmf -k 10
    assert_status 0
    [ "$(awk '{print $3}' <<< "$output" | tr '\n' ' ')" = "doc2 doc10 a _x A 9 " ]
    [ "$(awk '{print $4}' <<< "$output" | tr '\n' ' ')" = "1 2 3 4 5 6 " ]
}

@test "mm-rank: -t and --block do not change a single byte" {
    make_exact 150 500 8
    mm-rank -q q.mmf -g g.mmf -k 7 -t 1 > a.trec
    for args in "-t 2" "-t 3 --block 1" "--block 7" "-t 2 --block 100000"; do
        mm-rank -q q.mmf -g g.mmf -k 7 $args > b.trec
        cmp a.trec b.trec
    done
}

@test "mm-rank: the int8 pre-filter changes nothing (MM_RANK_INT8=0 gives the same bytes)" {
    "$MM_PYTHON" - <<'EOF'
import numpy as np
rng = np.random.default_rng(11)
for name, n in (("q", 100), ("g", 14000)):
    x = rng.standard_normal((n, 64)).astype(np.float32)
    x[: n // 3] /= np.linalg.norm(x[: n // 3], axis=1, keepdims=True)  # some unit, some not
    x[n // 2] *= 1e-20
    np.save(name + ".npy", x)
    open(name + ".ids", "w").write("".join("%s%d\n" % (name, i) for i in range(n)))
EOF
    mm-convert --ids q.ids q.npy -o q.mmf
    mm-convert --ids g.ids g.npy -o g.mmf
    # from a pipe (a mapped gallery this small would not use the int8 pass),
    # one worker (int8 starts after a worker's first 4096 rows of a chunk)
    for args in "-k 10 -t 1" "-k 100 -t 1 --block 500" "-k 5 -t 2 --block 1000 --metric cos"; do
        cat g.mmf | mm-rank -q q.mmf -g - $args > a.trec
        MM_RANK_INT8=0 mm-rank -q q.mmf -g g.mmf $args > b.trec
        cmp a.trec b.trec
        [ "$(wc -l < a.trec)" -gt 400 ]
    done
}

@test "mm-rank: -o writes the same as stdout, atomically; --tag sets the 6th column" {
    make_exact 3 20 4
    mm-rank -q q.mmf -g g.mmf --tag myrun > stdout.trec
    run --separate-stderr mm-rank -q q.mmf -g g.mmf -o out.trec --tag myrun
    assert_status 0
    [ -z "$output" ] && [ -z "$stderr" ]
    cmp stdout.trec out.trec
    [ "$(awk '{print $6}' out.trec | sort -u)" = "myrun" ]
    [ "$(awk '{print $2}' out.trec | sort -u)" = "Q0" ]
    [ -z "$(ls | grep '\.tmp\.')" ]
}

@test "mm-rank --format tsv and jsonl carry the same ranking" {
    make_exact 4 30 5
    mm-rank -q q.mmf -g g.mmf -k 3 > r.trec
    mm-rank -q q.mmf -g g.mmf -k 3 --format tsv > r.tsv
    mm-rank -q q.mmf -g g.mmf -k 3 --format jsonl > r.jsonl
    [ "$(awk '{print $1 "\t" $3 "\t" $4 "\t" $5}' r.trec)" = "$(cat r.tsv)" ]
    "$MM_PYTHON" -c '
import json
rows = [json.loads(l) for l in open("r.jsonl")]
tsv = [l.rstrip("\n").split("\t") for l in open("r.tsv")]
assert len(rows) == len(tsv) == 12
for j, t in zip(rows, tsv):
    assert [j["qid"], j["docid"], str(j["rank"])] == t[:3], (j, t)
    assert float(j["score"]) == float(t[3])
'
}

@test "mm-rank: ids with spaces are refused in TREC format (id named) and fine in jsonl" {
    printf 'my query\t1 0\n' > q.tsv
    printf 'x\t1 0\n' > g.tsv
    mm-convert q.tsv -o q.mmf
    mm-convert g.tsv -o g.mmf
    run --separate-stderr mm-rank -q q.mmf -g g.mmf -o out.trec
    assert_status 1
    [[ "$stderr" == "mm-rank: q.mmf: record 1: query id 'my query' contains a space"* ]]
    [ ! -e out.trec ]
    run --separate-stderr mm-rank -q q.mmf -g g.mmf --format jsonl
    assert_status 0
    [ "$output" = '{"qid":"my query","docid":"x","rank":1,"score":1}' ]
}

@test "mm-rank --metric cos: cosine scores; ip stays raw; a normalised file is a no-op" {
    printf 'q\t3 4\n' > q.tsv
    printf 'a\t2 0\nb\t0 10\nc\t-1 -1\n' > g.tsv
    mm-convert q.tsv -o q.mmf
    mm-convert g.tsv -o g.mmf
    run mm-rank -q q.mmf -g g.mmf --metric ip
    [ "$output" = "$(printf 'q Q0 b 1 40 mm-rank\nq Q0 a 2 6 mm-rank\nq Q0 c 3 -7 mm-rank')" ]
    run mm-rank -q q.mmf -g g.mmf --metric cos
    [ "$output" = "$(printf 'q Q0 b 1 0.800000012 mm-rank\nq Q0 a 2 0.600000024 mm-rank\nq Q0 c 3 -0.989949524 mm-rank')" ]
    # files flagged normalised are trusted (that is what the flag is for)
    mm-convert --normalize q.tsv -o qn.mmf
    mm-convert --normalize g.tsv -o gn.mmf
    mm-rank -q qn.mmf -g gn.mmf --metric cos > c.trec
    mm-rank -q qn.mmf -g gn.mmf --metric ip > i.trec
    cmp c.trec i.trec
}

@test "mm-rank --exclude-self drops the gallery item with the query's id" {
    make_exact 10 40 4
    cp g.npy q.npy
    cp g.ids q.ids
    mm-convert --ids q.ids q.npy -o q.mmf
    mm-rank -q q.mmf -g g.mmf -k 3 > with.trec
    mm-rank -q q.mmf -g g.mmf -k 3 --exclude-self > without.trec
    brute 3 exclude > want.trec
    diff want.trec without.trec
    awk '$1 == $3' without.trec | { ! grep -q .; }
    [ "$(awk '$1 == $3' with.trec | wc -l)" -gt 0 ]
}

@test "mm-rank: gallery and queries from pipes and stdin; concatenated segments" {
    make_exact 5 60 4
    mm-rank -q q.mmf -g g.mmf -k 4 > a.trec
    cat g.mmf | mm-rank -q q.mmf -g - -k 4 > b.trec
    cmp a.trec b.trec
    mm-rank -q - -g g.mmf -k 4 < q.mmf > c.trec
    cmp a.trec c.trec
    # the same gallery as two concatenated segments
    "$MM_PYTHON" -c '
import numpy as np
g = np.load("g.npy"); ids = open("g.ids").read().split()
np.save("g1.npy", g[:25]); np.save("g2.npy", g[25:])
open("g1.ids", "w").write("\n".join(ids[:25]) + "\n"); open("g2.ids", "w").write("\n".join(ids[25:]) + "\n")'
    mm-convert --ids g1.ids g1.npy -o g1.mmf
    mm-convert --ids g2.ids g2.npy -o g2.mmf
    cat g1.mmf g2.mmf | mm-rank -q q.mmf -g - -k 4 > d.trec
    cmp a.trec d.trec
}

@test "mm-rank: an f16 gallery is accepted and ranks like its f32 rounding" {
    "$MM_PYTHON" -c '
import numpy as np
rng = np.random.default_rng(8)
np.save("q.npy", rng.standard_normal((6, 16)).astype(np.float32))
g = rng.standard_normal((80, 16)).astype(np.float32)
np.save("g.npy", g); np.save("g16.npy", g.astype(np.float16).astype(np.float32))'
    mm-convert q.npy -o q.mmf
    mm-convert --dtype f16 g.npy -o gh.mmf
    mm-convert g16.npy -o gr.mmf
    mm-info gh.mmf | grep -q f16
    mm-rank -q q.mmf -g gh.mmf -k 5 > h.trec
    mm-rank -q q.mmf -g gr.mmf -k 5 > r.trec
    cmp h.trec r.trec
}

@test "mm-rank --merge of disjoint shards gives the whole-gallery run byte for byte" {
    "$MM_PYTHON" -c '
import numpy as np
rng = np.random.default_rng(9)
q = rng.standard_normal((40, 24)).astype(np.float32)
g = rng.standard_normal((700, 24)).astype(np.float32)
np.save("q.npy", q); np.save("g.npy", g)
for name, a, b in (("s1", 0, 123), ("s2", 123, 530), ("s3", 530, 700)):
    np.save(name + ".npy", g[a:b])
    open(name + ".ids", "w").write("".join("img%d\n" % i for i in range(a, b)))
open("g.ids", "w").write("".join("img%d\n" % i for i in range(700)))'
    mm-convert q.npy -o q.mmf
    mm-convert --ids g.ids g.npy -o g.mmf
    mm-rank -q q.mmf -g g.mmf -k 10 > whole.trec
    for s in s1 s2 s3; do
        mm-convert --ids $s.ids $s.npy -o $s.mmf
        mm-rank -q q.mmf -g $s.mmf -k 10 -o $s.trec
    done
    mm-rank --merge -k 10 s1.trec s2.trec s3.trec > merged.trec
    cmp whole.trec merged.trec
    # order of the runs does not matter; stdin works; -o is atomic
    cat s2.trec | mm-rank --merge -k 10 s3.trec - s1.trec -o merged2.trec
    cmp whole.trec merged2.trec
    # a smaller k cuts every query
    mm-rank -q q.mmf -g g.mmf -k 3 > whole3.trec
    mm-rank --merge -k 3 s1.trec s2.trec s3.trec > merged3.trec
    cmp whole3.trec merged3.trec
    # --tag and --format apply to the merged run
    mm-rank --merge -k 2 --tag fused --format tsv s1.trec s2.trec > m.tsv
    [ "$(wc -l < m.tsv)" -eq 80 ]
    mm-rank --merge -k 2 --tag fused s1.trec s2.trec | awk '{print $6}' | sort -u | grep -qx fused
}

@test "mm-rank --merge: overlapping shards and malformed runs are errors naming the file" {
    make_exact 2 10 4
    mm-rank -q q.mmf -g g.mmf -k 3 > a.trec
    run --separate-stderr mm-rank --merge -k 3 a.trec a.trec -o m.trec
    assert_status 1
    assert_output_contains ""
    [[ "$stderr" == *"is in more than one run"* ]]
    [ ! -e m.trec ]
    printf 'q0 Q0 g1 1 0.5 t\nq0 Q0 g2 2\n' > bad.trec
    run --separate-stderr mm-rank --merge -k 3 bad.trec
    assert_status 1
    [[ "$stderr" == "mm-rank: bad.trec:2: "* ]]
    run --separate-stderr mm-rank --merge -k 3 missing.trec
    assert_status 1
    [[ "$stderr" == "mm-rank: missing.trec"* ]]
}

@test "mm-rank: dimension mismatch names both files" {
    printf 'q\t1 0 0\n' > q.tsv
    printf 'g\t1 0\n' > g.tsv
    mm-convert q.tsv -o q.mmf
    mm-convert g.tsv -o g.mmf
    run --separate-stderr mm-rank -q q.mmf -g g.mmf -o out.trec
    assert_status 1
    [ -z "$output" ]
    [[ "$stderr" == "mm-rank: g.mmf: dimension 2 does not match the queries' 3 (q.mmf)" ]]
    [ ! -e out.trec ]
}

@test "mm-rank: empty query or gallery input is an error" {
    make_exact 2 3 4
    : > empty.mmf
    run --separate-stderr mm-rank -q empty.mmf -g g.mmf
    assert_status 1
    [[ "$stderr" == "mm-rank: empty.mmf: "* ]]
    run --separate-stderr mm-rank -q q.mmf -g empty.mmf
    assert_status 1
    [[ "$stderr" == "mm-rank: empty.mmf: "* ]]
    run --separate-stderr bash -c 'mm-rank -q q.mmf -g - < /dev/null'
    assert_status 1
    [[ "$stderr" == "mm-rank: (stdin): "* ]]
    [ -z "$output" ]
}

@test "mm-rank: NaN/Inf are refused with the id named unless --allow-nonfinite" {
    "$MM_PYTHON" -c '
import numpy as np
g = np.ones((5, 3), np.float32); g[3, 1] = np.nan
q = np.ones((2, 3), np.float32); q[1, 2] = np.inf
np.save("g.npy", g); np.save("q.npy", q); np.save("q1.npy", q[:1])
open("g.ids", "w").write("a\nb\nc\nbad-doc\ne\n"); open("q.ids", "w").write("q0\nbad-query\n")
open("q1.ids", "w").write("q0\n")'
    mm-convert --ids g.ids g.npy -o g.mmf
    mm-convert --ids q.ids q.npy -o q.mmf
    mm-convert --ids q1.ids q1.npy -o q1.mmf
    run --separate-stderr mm-rank -q q1.mmf -g g.mmf -o out.trec
    assert_status 1
    [[ "$stderr" == "mm-rank: g.mmf: record 4 (id 'bad-doc'): non-finite value nan in element 1"* ]]
    [ ! -e out.trec ]
    run --separate-stderr mm-rank -q q.mmf -g g.mmf
    assert_status 1
    [[ "$stderr" == "mm-rank: q.mmf: record 2 (id 'bad-query'): non-finite value inf in element 2"* ]]
    [ -z "$output" ]
    run --separate-stderr mm-rank -q q1.mmf -g g.mmf --allow-nonfinite
    assert_status 0
    # the NaN score is never ranked: 4 of 5 items
    [ "${#lines[@]}" -eq 4 ]
    [[ "$output" != *bad-doc* ]]
}

@test "mm-rank: duplicate gallery ids are warned about once, ranking goes on; --quiet silences" {
    printf 'q\t1 0\n' > q.tsv
    printf 'a\t1 0\nb\t0.5 0\na\t0.2 0\nb\t0 0\nc\t0 1\n' > g.tsv
    mm-convert q.tsv -o q.mmf
    mm-convert g.tsv -o g.mmf
    run --separate-stderr mm-rank -q q.mmf -g g.mmf
    assert_status 0
    [ "${#lines[@]}" -eq 5 ]
    [ "$(wc -l <<< "$stderr")" -eq 1 ]
    [[ "$stderr" == "mm-rank: warning: g.mmf: gallery id 'a' occurs more than once (2 repeated records)"* ]]
    run --separate-stderr mm-rank -q q.mmf -g g.mmf --quiet
    assert_status 0
    [ -z "$stderr" ]
    run --separate-stderr mm-rank -q q.mmf -g g.mmf --no-dup-check
    assert_status 0
    [ -z "$stderr" ]
}

@test "mm-rank: truncated and corrupt gallery streams fail with the file named; -o untouched" {
    make_exact 3 50 4
    head -c -5 g.mmf > cut.mmf
    echo "previous content" > out.trec
    run --separate-stderr mm-rank -q q.mmf -g cut.mmf -o out.trec
    assert_status 1
    [[ "$stderr" =~ ^mm-rank:\ cut\.mmf:\ byte\ [0-9]+:\ truncated ]]
    [ "$(cat out.trec)" = "previous content" ]
    [ -z "$(ls | grep '\.tmp\.')" ]
    run --separate-stderr bash -c 'head -c -5 g.mmf | mm-rank -q q.mmf -g -'
    assert_status 1
    [[ "$stderr" == "mm-rank: (stdin): byte "*"truncated"* ]]
    [ -z "$output" ]
    # flip one byte inside a vector
    "$MM_PYTHON" -c '
b = bytearray(open("g.mmf", "rb").read()); b[len(b) // 2] ^= 0x40
open("bad.mmf", "wb").write(bytes(b))'
    run --separate-stderr mm-rank -q q.mmf -g bad.mmf -o out.trec
    assert_status 1
    [[ "$stderr" == "mm-rank: bad.mmf: "*"corrupt"* ]]
    [ "$(cat out.trec)" = "previous content" ]
    printf 'not an mmf file at all\n' > junk.mmf
    run --separate-stderr mm-rank -q q.mmf -g junk.mmf
    assert_status 1
    [[ "$stderr" == "mm-rank: junk.mmf: "* ]]
    run --separate-stderr mm-rank -q missing.mmf -g g.mmf
    assert_status 1
    [[ "$stderr" == "mm-rank: missing.mmf"* ]]
}

@test "mm-rank ... | head -1: one line, status 141, nothing on stderr" {
    make_exact 3000 50 4
    run --separate-stderr bash -c 'mm-rank -q q.mmf -g g.mmf -k 20 | head -1; echo "status=${PIPESTATUS[0]}"'
    [ -z "$stderr" ]
    [ "${#lines[@]}" -eq 2 ]
    [[ "${lines[0]}" == "q0 Q0 "* ]]
    [ "${lines[1]}" = "status=141" ]
}

@test "mm-rank --progress reports on stderr; quiet by default off a terminal" {
    make_exact 2 30 4
    run --separate-stderr mm-rank -q q.mmf -g g.mmf --progress
    assert_status 0
    [[ "$stderr" == *"30 gallery vectors ranked"* ]]
    run --separate-stderr mm-rank -q q.mmf -g g.mmf
    [ -z "$stderr" ]
}

@test "mm-rank: an unknown element type is refused; f32 and f16 segments mix in one stream" {
    make_exact 3 40 4
    # rewrite the dtype byte (offset 10) and the header CRC32C (offset 20)
    "$MM_PYTHON" -c '
import struct
def crc32c(data):
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82f63b78 if crc & 1 else 0)
    return crc ^ 0xffffffff
b = bytearray(open("g.mmf", "rb").read())
assert struct.unpack_from("<I", b, 20)[0] == crc32c(bytes(b[:20]))
b[10] = 3
struct.pack_into("<I", b, 20, crc32c(bytes(b[:20])))
open("dtype3.mmf", "wb").write(bytes(b))'
    run --separate-stderr mm-rank -q q.mmf -g dtype3.mmf
    assert_status 1
    [[ "$stderr" == "mm-rank: dtype3.mmf: "*"element type"* ]]
    [ -z "$output" ]
    # values in multiples of 1/4 are exact in f16: a mixed stream ranks like f32
    mm-convert --dtype f16 --ids g.ids g.npy -o g16.mmf
    cat g.mmf g16.mmf > mixed.mmf
    cat g.mmf g.mmf > same.mmf
    mm-rank -q q.mmf -g mixed.mmf -k 6 --quiet > a.trec
    mm-rank -q q.mmf -g same.mmf -k 6 --quiet > b.trec
    cmp a.trec b.trec
}

@test "mm-rank: a repeated query id is warned about once" {
    printf 'q\t1 0\nq\t0 1\nr\t1 1\n' > q.tsv
    printf 'a\t1 0\nb\t0 1\n' > g.tsv
    mm-convert q.tsv -o q.mmf
    mm-convert g.tsv -o g.mmf
    run --separate-stderr mm-rank -q q.mmf -g g.mmf
    assert_status 0
    [ "${#lines[@]}" -eq 6 ]
    [ "$stderr" = "mm-rank: warning: q.mmf: query id 'q' occurs more than once (1 repeated record); trec_eval would read such rankings as one query" ]
    run --separate-stderr mm-rank -q q.mmf -g g.mmf --quiet
    [ -z "$stderr" ]
}

@test "mm-rank: every score is printf's %.9g of a float32, in all formats (tiny, huge, zero, inf)" {
    "$MM_PYTHON" -c '
import numpy as np
rng = np.random.default_rng(11)
# magnitudes from 1e-30 to 1e30 per gallery row: scores cover many exponents,
# the %g style switch at 1e-4 and 1e9, and subnormal-range products.
g = rng.standard_normal((400, 8)).astype(np.float32)
g *= (10.0 ** rng.uniform(-30, 16, size=(400, 1))).astype(np.float32)
g[0] = 0; g[1] = -0.0; g[2, 0] = np.inf
q = rng.standard_normal((3, 8)).astype(np.float32)
np.save("g.npy", g); np.save("q.npy", q)
open("g.ids", "w").write("".join("g%d\n" % i for i in range(len(g))))
open("q.ids", "w").write("".join("q%d\n" % i for i in range(len(q))))'
    mm-convert --ids g.ids g.npy -o g.mmf
    mm-convert --ids q.ids q.npy -o q.mmf
    mm-rank -q q.mmf -g g.mmf -k 400 --allow-nonfinite > r.trec
    mm-rank -q q.mmf -g g.mmf -k 400 --allow-nonfinite --format tsv > r.tsv
    mm-rank -q q.mmf -g g.mmf -k 400 --allow-nonfinite --format jsonl > r.jsonl
    "$MM_PYTHON" -c '
import json, numpy as np
def same(text):
    # %.9g round-trips a float32, so a text that is a float32 printed with
    # %.9g is reproduced exactly by parse -> float32 -> %.9g.
    want = "%.9g" % float(np.float32(float(text)))
    assert text == want, (text, want)
trec = [l.split() for l in open("r.trec")]
tsv = [l.rstrip("\n").split("\t") for l in open("r.tsv")]
js = [json.loads(l) for l in open("r.jsonl")]
assert len(trec) == len(tsv) == len(js) > 1000, len(trec)
exps = set()
for t, s, j in zip(trec, tsv, js):
    same(t[4]); assert s[3] == t[4]
    assert (j["score"] if isinstance(j["score"], str) else None) in (None, "inf", "-inf")
    if "e" in t[4]: exps.add(t[4].split("e")[1])
assert len(exps) > 20, exps
assert any(t[4] in ("inf", "-inf") for t in trec)
'
    grep -q '"score":"\(-\)\{0,1\}inf"}$' r.jsonl
    ! grep -q '"score":[-0-9.e+]*[^-0-9.e+}]' r.jsonl
    # byte for byte what printf prints for the jsonl numbers too
    "$MM_PYTHON" -c '
import re, numpy as np
for l in open("r.jsonl"):
    m = re.search(r"\"score\":([^\"}]+)\}$", l.rstrip("\n"))
    if m:
        t = m.group(1)
        assert t == "%.9g" % float(np.float32(float(t))), t
'
}

@test "mm-rank: a gallery id TREC cannot carry (a space) fails naming it, -o untouched; TSV and jsonl carry it" {
    printf 'q\t1 0\n' > q.tsv
    printf 'a\t1 0\nb c\t0.5 0\nd\t0.2 0\n' > g.tsv
    mm-convert q.tsv -o q.mmf
    mm-convert g.tsv -o g.mmf
    run --separate-stderr mm-rank -q q.mmf -g g.mmf -o out.trec
    assert_status 1
    [[ "$stderr" == "mm-rank: out.trec: gallery id 'b c' contains a space"* ]]
    [ ! -e out.trec ]
    run --separate-stderr mm-rank -q q.mmf -g g.mmf --format tsv -o out.tsv
    assert_status 0
    [ "$(sed -n 2p out.tsv)" = "q	b c	2	0.5" ]
    run --separate-stderr mm-rank -q q.mmf -g g.mmf --format jsonl
    assert_status 0
    [ "${lines[1]}" = '{"qid":"q","docid":"b c","rank":2,"score":0.5}' ]
}

@test "mm-rank: query errors come before gallery errors and never wait on a gallery pipe" {
    make_exact 3 20 4
    printf 'junk\n' > bad.mmf
    run --separate-stderr mm-rank -q bad.mmf -g missing.mmf
    assert_status 1
    [[ "$stderr" == "mm-rank: bad.mmf: "*"not an MMF feature stream"* ]]
    run --separate-stderr mm-rank -q q.mmf -g missing.mmf
    assert_status 1
    [[ "$stderr" == "mm-rank: missing.mmf: "* ]]
    run --separate-stderr mm-rank -q bad.mmf -g g.mmf -o out.trec
    assert_status 1
    [[ "$stderr" == "mm-rank: bad.mmf: "*"not an MMF feature stream"* ]]
    [ ! -e out.trec ]
    # a gallery producer that is slow to start: the query error is immediate
    start=$(date +%s)
    run --separate-stderr mm-rank -q bad.mmf -g <(sleep 6; cat g.mmf)
    assert_status 1
    [ $(( $(date +%s) - start )) -lt 4 ]
    # and a good run from a mapped gallery file equals the run from a pipe
    mm-rank -q q.mmf -g g.mmf -k 5 > file.trec
    cat g.mmf | mm-rank -q q.mmf -g - -k 5 > pipe.trec
    cmp file.trec pipe.trec
}

@test "mm-rank -k 0: every gallery vector per query, as mm-fuse -k 0 and mm-predict -k 0" {
    make_exact 3 7 4
    brute 7 > want.trec
    mm-rank -q q.mmf -g g.mmf -k 0 > all.trec
    diff want.trec all.trec
    mm-rank -q q.mmf -g g.mmf -k 7 > seven.trec
    diff want.trec seven.trec
    # --merge -k 0 keeps every line of the shards
    mm-convert --ids g.ids g.npy --to tsv > g.tsv
    head -4 g.tsv | mm-convert --from tsv --to mmf > g1.mmf
    tail -n +5 g.tsv | mm-convert --from tsv --to mmf > g2.mmf
    mm-rank -q q.mmf -g g1.mmf -k 0 > r1.trec
    mm-rank -q q.mmf -g g2.mmf -k 0 > r2.trec
    mm-rank --merge -k 0 r1.trec r2.trec > merged.trec
    diff want.trec merged.trec
    run --separate-stderr mm-rank --help
    assert_output_contains "0 = all"
}

@test "mm-rank --block: a block past 1 GiB is refused naming the gallery; one that does not fit in memory is reported, -o untouched" {
    make_exact 2 3 2048
    echo keep > out.trec
    run mm-rank -q q.mmf -g g.mmf --block 262144 -o out.trec
    assert_status 1
    assert_output_contains "mm-rank: g.mmf: a block of 262144 rows of dimension 2048 exceeds the limit of 1 GiB (at most 131072 rows)"
    [ "$(cat out.trec)" = keep ]
    # 2^17 rows of dimension 2048 is exactly 1 GiB a block: allowed, but not
    # in 1.5 GB of address space. (ASan needs terabytes of address space for
    # its shadow memory: no ulimit there.)
    [ "${MM_SAN:-0}" = 1 ] && skip "ulimit -v under ASan"
    run bash -c "ulimit -v 1500000; mm-rank -q q.mmf -g g.mmf --block 131072 -o out.trec"
    assert_status 1
    assert_output_contains "mm-rank: g.mmf: out of memory for"
    assert_output_contains "gallery blocks of 131072 rows of dimension 2048 (--block)"
    [ "$(cat out.trec)" = keep ]
}
