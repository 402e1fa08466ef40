#!/usr/bin/env bats
# mm-convert: MMF <-> .npy (+ ids) <-> TSV, f16, --normalize, --meta, NumPy
# interop both ways, atomic -o, SIGPIPE, and error messages.
load common
bats_require_minimum_version 1.5.0

setup() {
    cd "$BATS_TEST_TMPDIR" || return 1
}

# x.npy: 7 x 5 float32 with awkward values; ids.txt: 7 UTF-8 ids.
make_npy() {
    "$MM_PYTHON" -c '
import numpy as np
rng = np.random.default_rng(3)
x = rng.standard_normal((7, 5)).astype(np.float32)
x[0, 0] = -0.0
x[0, 1] = np.float32(1.4e-45)          # smallest subnormal
x[0, 2] = np.float32(3.4028235e38)     # largest finite
x[1, 0] = np.inf
x[1, 1] = -np.inf
x[1, 2] = np.float32("nan")
x[2] = np.frombuffer(np.array([0x7fc00001, 0xffbfffff, 0x00000001, 0x80000001, 0x7f7fffff],
                              dtype=np.uint32).tobytes(), dtype=np.float32)
np.save("x.npy", x)
ids = ["img/%d.jpg" % i for i in range(6)] + ["caf\u00e9 \u65e5\u672c"]
open("ids.txt", "w", encoding="utf-8").write("".join(i + "\n" for i in ids))
'
}

@test "mm-convert --help: usage on stdout with the defaults, status 0" {
    run --separate-stderr mm-convert --help
    assert_status 0
    [ -z "$stderr" ]
    assert_output_contains "Usage: mm-convert"
    assert_output_contains "default: standard output"
    assert_output_contains "default: detect"
    assert_output_contains "default: row numbers"
    assert_output_contains "default: the input's for MMF input, else f32"
    for opt in --output --from --to --ids --ids-out --dtype --normalize --meta --quiet --help --version; do
        assert_output_contains "$opt"
    done
    assert_output_contains "mm-convert --ids ids.txt x.npy -o x.mmf"
    assert_output_contains "mm-convert x.mmf -o x.npy --ids-out ids.txt"
}

@test "mm-convert --version" {
    run --separate-stderr mm-convert --version
    assert_status 0
    [[ "$output" =~ ^mm-convert\ \(mmkit\)\ [0-9]+\.[0-9]+\.[0-9]+ ]]
    [ -z "$stderr" ]
}

@test "mm-convert: usage errors exit 2 with a hint and write nothing" {
    printf 'a\t1 2\n' > a.tsv
    for args in "--bogus a.tsv" "--to csv a.tsv" "--from xml a.tsv" "--dtype f64 a.tsv -o o.mmf" \
                "--meta novalue a.tsv" "--meta =v a.tsv" "a.tsv b.tsv" "a.tsv -o o.csv" \
                "--ids ids.txt a.tsv -o o.mmf" "a.tsv -o o.mmf --ids-out ids.txt" "-o"; do
        run --separate-stderr mm-convert $args
        if [ "$status" -ne 2 ] || [[ "$stderr" != *"Try 'mm-convert --help' for more information."* ]]; then
            echo "args: $args -> status $status, stderr: $stderr" >&2
            return 1
        fi
        [ -z "$output" ]
    done
    [ ! -e o.mmf ] && [ ! -e o.csv ] && [ ! -e ids.txt ]
    ls -a | grep -q '\.tmp\.' && return 1 || true
}

@test "mm-convert: MMF input to stdout needs --to (usage error)" {
    printf 'a\t1 2\n' | mm-convert --to mmf -o a.mmf
    run --separate-stderr mm-convert a.mmf
    assert_status 2
    [[ "$stderr" == *"--to"* ]]
}

@test "mm-convert: npy -> mmf -> npy is bit-exact for f32 (the documented spellings)" {
    make_npy
    run --separate-stderr mm-convert --ids ids.txt x.npy -o x.mmf
    assert_status 0
    [ -z "$stderr" ]
    run --separate-stderr mm-convert x.mmf -o y.npy --ids-out ids2.txt
    assert_status 0
    [ -z "$stderr" ]
    cmp ids.txt ids2.txt
    "$MM_PYTHON" -c '
import numpy as np
x, y = np.load("x.npy"), np.load("y.npy")
assert y.dtype == np.float32 and y.shape == x.shape, (y.dtype, y.shape)
assert x.tobytes() == y.tobytes(), "not bit-exact"
'
    # the .npy file itself is byte-identical to what NumPy wrote
    cmp x.npy y.npy
    run mm-info --ids x.mmf
    [ "${lines[6]}" = "café 日本" ]
}

@test "mm-convert: without --ids the ids are the row numbers; --ids count must match" {
    make_npy
    run mm-convert x.npy -o x.mmf
    assert_status 0
    run mm-info --ids x.mmf
    [ "$output" = "$(seq 0 6)" ]
    head -n 3 ids.txt > short.txt
    run --separate-stderr mm-convert --ids short.txt x.npy -o z.mmf
    assert_status 1
    [[ "$stderr" == "mm-convert: short.txt: 3 ids for 7 rows of x.npy" ]]
    [ ! -e z.mmf ]
    printf 'a\n\nb\n' > blank.txt
    run --separate-stderr mm-convert --ids blank.txt x.npy -o z.mmf
    assert_status 1
    [[ "$stderr" == "mm-convert: blank.txt:2: empty id" ]]
}

@test "mm-convert: NumPy writes, mm-convert reads (f32, f64, f16, >f4, a view; stdin too)" {
    "$MM_PYTHON" -c '
import numpy as np
x = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
np.save("f32.npy", x); np.save("f64.npy", x.astype(np.float64)); np.save("f16.npy", x.astype(np.float16))
np.save("big.npy", x.astype(">f4"))
np.save("sliced.npy", np.hstack([x, x])[:, :4])   # a view: np.save writes it in C order
'
    for f in f32 f64 big sliced; do
        run --separate-stderr mm-convert "$f.npy" --to tsv
        assert_status 0
        [ "${lines[1]}" = "$(printf '1\t0.571428597 0.714285731 0.857142866 1')" ] || {
            echo "$f: ${lines[1]}" >&2; return 1; }
    done
    run mm-convert f16.npy --to tsv
    assert_status 0
    [ "${lines[0]}" = "$(printf '0\t0 0.142822266 0.285644531 0.428466797')" ]
    # through a pipe (format recognised from the bytes)
    run --separate-stderr bash -c 'cat f32.npy | mm-convert --to tsv'
    assert_status 0
    [ "${#lines[@]}" -eq 3 ]
}

@test "mm-convert: mm-convert writes, NumPy reads (f32 and f16, allow_pickle=False)" {
    printf 'a\t1 2 3\nb\t-0.5 1e-8 65504\n' > a.tsv
    mm-convert a.tsv -o a.npy --ids-out a.ids
    mm-convert a.tsv --to mmf | mm-convert --from mmf --to npy --dtype f16 > h.npy
    "$MM_PYTHON" -c '
import numpy as np
a = np.load("a.npy", allow_pickle=False)
assert a.dtype == np.float32 and a.shape == (2, 3) and a.flags.c_contiguous
assert (a == np.array([[1, 2, 3], [-0.5, 1e-8, 65504]], np.float32)).all()
h = np.load("h.npy", allow_pickle=False)
assert h.dtype == np.float16 and h.shape == (2, 3)
assert (h == np.array([[1, 2, 3], [-0.5, 1e-8, 65504]], np.float32).astype(np.float16)).all()
'
    [ "$(cat a.ids)" = "$(printf 'a\nb')" ]
}

@test "mm-convert: .npy input that is not a 2-D float array is rejected with the file named" {
    "$MM_PYTHON" -c '
import numpy as np
np.save("one.npy", np.zeros(4, np.float32))
np.save("three.npy", np.zeros((2, 2, 2), np.float32))
np.save("int.npy", np.zeros((2, 2), np.int32))
np.save("fort.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
'
    run --separate-stderr mm-convert one.npy -o o.mmf
    assert_status 1
    [[ "$stderr" == "mm-convert: one.npy: expected a 2-D array"* ]]
    run --separate-stderr mm-convert three.npy -o o.mmf
    assert_status 1
    [[ "$stderr" == "mm-convert: three.npy: "* ]]
    run --separate-stderr mm-convert int.npy -o o.mmf
    assert_status 1
    [[ "$stderr" == "mm-convert: int.npy: dtype <i4; "* ]]
    run --separate-stderr mm-convert fort.npy -o o.mmf
    assert_status 1
    [[ "$stderr" == "mm-convert: fort.npy: Fortran-order"* ]]
    [ ! -e o.mmf ]
}

@test "mm-convert: TSV -> MMF -> TSV reproduces the text, and values bit-exactly" {
    printf 'a\t1 -2.5 0.100000001\nb c\t3.40282347e+38 1.40129846e-45 -0\n' > a.tsv
    run --separate-stderr mm-convert a.tsv -o a.mmf
    assert_status 0
    run --separate-stderr mm-convert a.mmf --to tsv
    assert_status 0
    [ "$output" = "$(cat a.tsv)" ]
    run mm-info a.mmf
    assert_output_contains "source=tsv"
    assert_output_contains "producer=mm-convert"
    # any float formatting in, shortest round-trip-exact (%.9g) out
    printf 'x\t1.0   2.50\t+3e0\n' | mm-convert --to mmf | mm-convert --from mmf --to tsv > out.tsv
    [ "$(cat out.tsv)" = "$(printf 'x\t1 2.5 3')" ]
}

@test "mm-convert: npy -> TSV -> npy is bit-exact for finite f32" {
    "$MM_PYTHON" -c '
import numpy as np
rng = np.random.default_rng(11)
u = rng.integers(0, 2**32, size=(50, 16), dtype=np.uint64).astype(np.uint32)
u[(u & 0x7f800000) == 0x7f800000] &= 0xbfffffff   # no inf/nan: TSV is for finite values
np.save("r.npy", u.view(np.float32))
'
    mm-convert r.npy -o r.tsv
    mm-convert r.tsv -o r2.npy -q
    "$MM_PYTHON" -c '
import numpy as np
assert np.load("r.npy").tobytes() == np.load("r2.npy").tobytes()'
}

@test "mm-convert: TSV errors name the file and line; nothing is written" {
    printf 'a\t1 2\nb\t1 x\n' > bad.tsv
    run --separate-stderr mm-convert bad.tsv -o o.mmf
    assert_status 1
    [ "$stderr" = "mm-convert: bad.tsv:2: value 2 is not a number: 'x'" ]
    printf 'a\t1 2\n\nb\t1 2 3\n' > dims.tsv
    run --separate-stderr mm-convert dims.tsv -o o.mmf
    assert_status 1
    [[ "$stderr" == "mm-convert: dims.tsv:3: 3 values, but earlier lines have 2" ]]
    printf 'no tab here\n' | { run --separate-stderr mm-convert -o o.mmf; }
    run --separate-stderr bash -c "printf 'no tab here\n' | mm-convert -o o.mmf"
    assert_status 1
    [[ "$stderr" == "mm-convert: (stdin):1: "* ]]
    [ ! -e o.mmf ]
}

@test "mm-convert: a truncated or corrupt MMF input names the file and the byte" {
    printf 'a\t1 2\nb\t3 4\n' | mm-convert --to mmf -o a.mmf
    head -c -5 a.mmf > cut.mmf
    run --separate-stderr mm-convert cut.mmf --to tsv -o o.tsv
    assert_status 1
    [[ "$stderr" == "mm-convert: cut.mmf: byte "*": truncated: "* ]]
    "$MM_PYTHON" -c '
d = bytearray(open("a.mmf", "rb").read()); d[-14] ^= 4
open("bad.mmf", "wb").write(d)'
    run --separate-stderr mm-convert bad.mmf -o o.npy
    assert_status 1
    [[ "$stderr" == "mm-convert: bad.mmf: byte "*": corrupt: "* ]]
    [ ! -e o.tsv ] && [ ! -e o.npy ]
}

@test "mm-convert: empty input is an error" {
    : > empty
    run --separate-stderr mm-convert --to mmf < empty
    assert_status 1
    [[ "$stderr" == *"(stdin)"*"empty"* ]]
    run --separate-stderr mm-convert empty -o o.mmf
    assert_status 1
    [[ "$stderr" == *"empty"* ]]
    [ ! -e o.mmf ]
}

@test "mm-convert --dtype f16: MMF stores f16, values are NumPy's float16 rounding" {
    "$MM_PYTHON" -c '
import numpy as np
rng = np.random.default_rng(5)
x = (rng.standard_normal((40, 9)) * np.logspace(-9, 5, 40)[:, None]).astype(np.float32)
x[0, :3] = [65519.0, 65520.0, 1e-8]   # below / at the overflow tie, a subnormal
np.save("x.npy", x)'
    run --separate-stderr mm-convert x.npy --dtype f16 -o h.mmf
    assert_status 0
    run mm-info --json h.mmf
    [[ "$output" == *'"dtype":"f16"'* ]]
    # read back as f32: each value is exactly float16(x)
    mm-convert h.mmf -o back.npy --dtype f32 -q
    "$MM_PYTHON" -c '
import numpy as np
x, b = np.load("x.npy"), np.load("back.npy")
assert b.dtype == np.float32
ref = x.astype(np.float16).astype(np.float32)
assert ref.tobytes() == b.tobytes(), np.argwhere(ref.view(np.uint32) != b.view(np.uint32))[:5]
'
    # f16 MMF is about half the size of f32 MMF
    mm-convert x.npy -o f.mmf
    [ "$(stat -c %s h.mmf)" -lt "$(( $(stat -c %s f.mmf) * 6 / 10 ))" ]
}

@test "mm-convert: MMF f16 -> .npy keeps f16 by default, as --help says" {
    printf 'a\t1 0.333333343\n' | mm-convert --dtype f16 -o h.mmf
    run --separate-stderr mm-convert h.mmf -o h.npy -q
    assert_status 0
    run "$MM_PYTHON" -c 'import numpy as np; print(np.load("h.npy").dtype)'
    [ "$output" = "float16" ]
}

@test "mm-convert: f16 MMF -> f32 MMF and back" {
    printf 'a\t1 0.333333343 -7\n' | mm-convert --dtype f16 -o h.mmf
    mm-convert h.mmf --dtype f32 -o f.mmf
    run mm-info --json f.mmf
    [[ "$output" == *'"dtype":"f32"'* ]]
    run mm-convert f.mmf --to tsv
    [ "$output" = "$(printf 'a\t1 0.333251953 -7')" ]
    # MMF -> MMF keeps the input's dtype by default
    mm-convert h.mmf -o h2.mmf
    run mm-info --json h2.mmf
    [[ "$output" == *'"dtype":"f16"'* ]]
}

@test "mm-convert --normalize: unit L2 norms and the normalized flag" {
    "$MM_PYTHON" -c '
import numpy as np
rng = np.random.default_rng(8)
x = rng.standard_normal((30, 512)).astype(np.float32) * 37
x[5] = 0   # the zero vector stays zero
np.save("x.npy", x)'
    run --separate-stderr mm-convert --normalize x.npy -o n.mmf
    assert_status 0
    run mm-info --json n.mmf
    [[ "$output" == *'"normalized":true'* ]]
    mm-convert n.mmf -o n.npy -q
    "$MM_PYTHON" -c '
import numpy as np
x, n = np.load("x.npy"), np.load("n.npy")
norms = np.linalg.norm(n.astype(np.float64), axis=1)
ok = np.ones(30, bool); ok[5] = False
assert np.all(np.abs(norms[ok] - 1) < 1e-6), norms
assert np.all(n[5] == 0)
cos = (x[ok] * n[ok]).sum(1) / np.linalg.norm(x[ok], axis=1)
assert np.all(np.abs(cos - 1) < 1e-5)
'
    # without --normalize the flag is not set
    run mm-info --json <(mm-convert x.npy --to mmf)
    [[ "$output" == *'"normalized":false'* ]]
}

@test "mm-convert --meta: adds and replaces items; MMF -> MMF keeps the input's metadata" {
    printf 'a\t1 2\n' > a.tsv
    mm-convert a.tsv --meta model=clip-b32 --meta modality=image --meta model=clip-l14 -o a.mmf
    run mm-info --json a.mmf
    printf '%s\n' "$output" | "$MM_PYTHON" -c '
import json, sys
m = json.loads(sys.stdin.read())["segments"][0]["meta"]
assert m["model"] == "clip-l14" and m["modality"] == "image", m
assert m["source"] == "tsv" and m["producer"].startswith("mm-convert"), m
'
    mm-convert a.mmf --meta modality=fused --meta "note=a b=c" -o b.mmf
    run mm-info b.mmf
    assert_output_contains "model=clip-l14"
    assert_output_contains "modality=fused"
    assert_output_contains "note=a b=c"
}

@test "mm-convert --meta with an invalid key fails and writes nothing" {
    printf 'a\t1 2\n' > a.tsv
    run --separate-stderr mm-convert a.tsv --meta "bad key=1" -o a.mmf
    [ "$status" -ne 0 ]
    [[ "$stderr" == *"bad key"* ]]
    [ ! -e a.mmf ]
    ls -a | grep -q '\.tmp\.' && return 1 || true
}

@test "mm-convert: concatenated MMF converts to one .npy; mixed dimensions are refused" {
    printf 'a\t1 2\n' | mm-convert --to mmf -o a.mmf
    printf 'b\t3 4\nc\t5 6\n' | mm-convert --to mmf --dtype f16 -o b.mmf
    printf 'd\t1 2 3\n' | mm-convert --to mmf -o d.mmf
    cat a.mmf b.mmf > ab.mmf
    run --separate-stderr mm-convert ab.mmf -o ab.npy --ids-out ab.ids
    assert_status 0
    [ "$(cat ab.ids)" = "$(printf 'a\nb\nc')" ]
    "$MM_PYTHON" -c '
import numpy as np
assert (np.load("ab.npy") == np.array([[1, 2], [3, 4], [5, 6]], np.float32)).all()'
    cat a.mmf d.mmf > ad.mmf
    run --separate-stderr mm-convert ad.mmf -o ad.npy
    assert_status 1
    [[ "$stderr" == "mm-convert: ad.mmf: byte "*"dimension 3"* ]]
    [ ! -e ad.npy ]
}

@test "mm-convert: converting a file onto itself works (atomic rename)" {
    printf 'a\t1 2\nb\t3 4\n' | mm-convert --to mmf -o a.mmf
    run --separate-stderr mm-convert a.mmf --dtype f16 -o a.mmf
    assert_status 0
    run mm-info --json a.mmf
    [[ "$output" == *'"dtype":"f16"'*'"records":2'* ]] || [[ "$output" == *'"records":2'*'"dtype":"f16"'* ]]
}

@test "atomic -o: a failing conversion leaves the old output intact and no temporary file" {
    "$MM_PYTHON" -c '
import numpy as np
np.save("big.npy", np.random.default_rng(1).standard_normal((3000, 64)).astype(np.float32))'
    mm-convert big.npy -o big.mmf
    head -c -100 big.mmf > cut.mmf   # fails only at the end, after ~750 kB were converted
    for out in out.mmf out.npy out.tsv; do
        echo "precious $out" > "$out"
        run --separate-stderr mm-convert cut.mmf -o "$out"
        assert_status 1
        [[ "$stderr" == "mm-convert: cut.mmf: byte "*"truncated"* ]]
        [ "$(cat "$out")" = "precious $out" ]
    done
    # the ids file of a .npy output too
    echo "precious ids" > out.ids
    run mm-convert cut.mmf -o out.npy --ids-out out.ids
    assert_status 1
    [ "$(cat out.ids)" = "precious ids" ]
    # no output file is created when there was none
    run mm-convert cut.mmf -o new.mmf
    assert_status 1
    [ ! -e new.mmf ]
    [ -z "$(ls -a | grep '\.tmp\.')" ]
}

@test "atomic -o (named fallback): SIGTERM in the middle removes the temporary file and keeps the old output" {
    printf 'a\t1 2\n' | mm-convert --to mmf -o a.mmf
    echo "precious" > out.mmf
    mkfifo fifo
    MM_NO_O_TMPFILE=1 mm-convert --from mmf fifo -o out.mmf 2> err.txt &  # the named fallback
    pid=$!
    exec 7> fifo
    head -c 40 a.mmf >&7   # part of a stream: mm-convert waits for more
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
}

@test "atomic -o: the output file gets the usual permissions, not mkstemp's 0600" {
    printf 'a\t1 2\n' > a.tsv
    (umask 022 && mm-convert a.tsv -o a.mmf)
    [ "$(stat -c %a a.mmf)" = 644 ]
    (umask 027 && mm-convert a.tsv -o b.npy -q)
    [ "$(stat -c %a b.npy)" = 640 ]
}

@test "-o into a missing directory fails with the path named" {
    printf 'a\t1 2\n' > a.tsv
    run --separate-stderr mm-convert a.tsv -o no/such/dir/a.mmf
    assert_status 1
    [[ "$stderr" == "mm-convert: no/such/dir/a.mmf: "* ]]
}

@test "SIGPIPE: mm-convert big.mmf --to tsv | head -c 10 ends with 141 and prints nothing on stderr" {
    "$MM_PYTHON" -c '
import numpy as np
np.save("big.npy", np.random.default_rng(2).standard_normal((4000, 64)).astype(np.float32))'
    mm-convert big.npy -o big.mmf
    run --separate-stderr bash -c 'mm-convert big.mmf --to tsv | head -c 10; echo "status=${PIPESTATUS[0]}"'
    [ -z "$stderr" ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == "0	"*"status=141" ]]
    # also when the calling shell ignores SIGPIPE (the program restores the default)
    run --separate-stderr bash -c 'trap "" PIPE; mm-convert big.mmf --to tsv | head -c 10; echo "status=${PIPESTATUS[0]}"'
    [ -z "$stderr" ]
    [[ "$output" == *"status=141" ]]
}

@test "--quiet silences the missing --ids-out warning" {
    printf 'a\t1 2\n' | mm-convert --to mmf -o a.mmf
    run --separate-stderr mm-convert a.mmf -o a.npy
    assert_status 0
    [[ "$stderr" == "mm-convert: warning: "*"--ids-out"* ]]
    run --separate-stderr mm-convert a.mmf -o a.npy -q
    assert_status 0
    [ -z "$stderr" ]
}

@test "the Python reader printed in mmf(5) reads what mm-convert writes" {
    page="$MM_REPO/man/man5/mmf.5"
    [ -f "$page" ]
    # the code between the markers, with the man(7) escapes undone
    sed -n '/mmf-python-reader-begin/,/mmf-python-reader-end/p' "$page" |
        grep -v '^\.' | sed -e 's/\\-/-/g' -e 's/\\(dq/"/g' -e 's/\\e/\\/g' > mmfread.py
    [ "$(wc -l < mmfread.py)" -gt 50 ]
    printf 'a\t1 0.5\nb\t-2 0.25\n' > t.tsv
    mm-convert t.tsv --meta model=m --meta modality=text -o t.mmf
    mm-convert t.tsv --dtype f16 --normalize -o n.mmf
    cat t.mmf n.mmf > tn.mmf
    run --separate-stderr "$MM_PYTHON" -c '
import sys
sys.path.insert(0, ".")
from mmfread import read_mmf
import numpy as np
segs = list(read_mmf(open("tn.mmf", "rb")))
assert len(segs) == 2
meta, elem, norm, ids, x = segs[0]
assert meta["model"] == "m" and meta["modality"] == "text" and meta["source"] == "tsv", meta
assert elem == np.float32 and not norm and ids == ["a", "b"]
assert (x == np.array([[1, 0.5], [-2, 0.25]], np.float32)).all()
meta, elem, norm, ids, x = segs[1]
assert elem == np.float16 and norm and ids == ["a", "b"]
assert np.allclose(np.linalg.norm(x, axis=1), 1, atol=1e-3)
data = open("t.mmf", "rb").read()
for cut in (1, 5, 13, 14, len(data) - 1):
    open("cut.mmf", "wb").write(data[:cut])
    try:
        list(read_mmf(open("cut.mmf", "rb")))
        raise SystemExit("cut %d accepted" % cut)
    except ValueError as e:
        assert "truncated" in str(e), (cut, e)
bad = bytearray(data); bad[-20] ^= 1
open("bad.mmf", "wb").write(bad)
try:
    list(read_mmf(open("bad.mmf", "rb")))
    raise SystemExit("corruption accepted")
except ValueError as e:
    assert "corrupt" in str(e), e
print("ok")
'
    [ "$output" = ok ] || { echo "$stderr" >&2; return 1; }
    # and its command-line form
    run "$MM_PYTHON" mmfread.py t.mmf
    assert_status 0
    assert_output_contains "'model': 'm'"
}

@test "the worked example in mmf(5) is what mm-convert writes, and is valid" {
    page="$MM_REPO/man/man5/mmf.5"
    [ -f "$page" ]
    sed -n '/mmf-python-reader-begin/,/mmf-python-reader-end/p' "$page" |
        grep -v '^\.' | sed -e 's/\\-/-/g' -e 's/\\(dq/"/g' -e 's/\\e/\\/g' > mmfread.py
    # the xxd lines of the example, back to bytes
    grep -E '^[0-9a-f]{8}: ' "$page" | sed 's/\\-/-/g' > dump.txt
    [ "$(wc -l < dump.txt)" -eq 7 ]
    "$MM_PYTHON" -c '
import sys
sys.path.insert(0, ".")
from mmfread import read_mmf
data = b"".join(bytes.fromhex(l[10:50].replace(" ", "")) for l in open("dump.txt"))
assert len(data) == 106, len(data)
open("example.mmf", "wb").write(data)
import io
(meta, elem, norm, ids, x), = read_mmf(io.BytesIO(data))
assert ids == ["a", "b"] and x.tolist() == [[1, 0.5], [-2, 0.25]]
'
    run mm-info example.mmf
    assert_status 0
    assert_output_contains "crc32c 1d0111eb"
    printf 'a\t1 0.5\nb\t-2 0.25\n' > t.tsv
    mm-convert t.tsv -o t.mmf
    if [ "$(mm-convert --version)" = "mm-convert (mmkit) 0.1.0" ]; then
        cmp t.mmf example.mmf
    else
        # another version string in the metadata: everything but the header matches
        cmp <(tail -c 41 t.mmf) <(tail -c 41 example.mmf)
    fi
}

@test "mm-convert: merging segments never claims 'normalized' for vectors that are not" {
    printf 'a\t3 4\n' | mm-convert --normalize -o n.mmf
    printf 'b\t3 4\n' | mm-convert -o u.mmf
    cat n.mmf u.mmf > nu.mmf
    run --separate-stderr mm-convert nu.mmf -o out.mmf
    assert_status 0
    run mm-convert out.mmf --to tsv
    [ "${lines[1]}" = "$(printf 'b\t3 4')" ]
    # MMF output keeps the input's segments, each with its own flags: a is in a
    # normalized segment, b (norm 5) in one that must not claim it.
    run mm-info --json out.mmf
    "$MM_PYTHON" -c 'import json,sys; s=json.loads(sys.argv[1])["segments"]; assert [x["normalized"] for x in s] == [True, False], s' "$output"
}

@test "mm-convert: an id that is not UTF-8 is reported at its input line, not as an output problem" {
    printf 'ok\t1 2\n\xff\xfe\t1 2\n' > badutf.tsv
    run --separate-stderr mm-convert badutf.tsv -o o.mmf
    assert_status 1
    [[ "$stderr" == "mm-convert: badutf.tsv:2: "*"UTF-8"* ]]
    [ ! -e o.mmf ]
    "$MM_PYTHON" -c 'import numpy as np; np.save("x.npy", np.zeros((5, 2), np.float32))'
    printf 'a\nb\n\xc0\xaf\nd\ne\n' > badids.txt
    run --separate-stderr mm-convert --ids badids.txt x.npy -o o.mmf
    assert_status 1
    [[ "$stderr" == "mm-convert: badids.txt:3: "*"UTF-8"* ]]
    [ ! -e o.mmf ]
}

@test "--help states --dtype's default, and it holds: an f16 MMF stays f16, TSV becomes f32" {
    run mm-convert --help
    assert_output_contains "(default: the input's for MMF input, else f32)"
    printf 'a\t1 2\n' | mm-convert --to mmf --dtype f16 -o h.mmf
    mm-convert h.mmf -o h2.mmf
    [[ "$(mm-info --json h2.mmf)" == *'"dtype":"f16"'* ]]
    printf 'a\t1 2\n' | mm-convert --to mmf -o f.mmf
    [[ "$(mm-info --json f.mmf)" == *'"dtype":"f32"'* ]]
}
