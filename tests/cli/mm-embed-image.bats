#!/usr/bin/env bats
# mm-embed-image: dump modes, inputs, and every bad-input path.
load common
bats_require_minimum_version 1.5.0

setup() {
    T=$(mktemp -d)
    REF="$MM_SHARED/ref/clip"
}
teardown() {
    rm -rf "$T"
}

# A PNG whose IHDR declares W x H (valid CRC), followed by nothing else.
png_header() { # $1 out, $2 width, $3 height
    "$MM_PYTHON" - "$1" "$2" "$3" <<'EOF'
import struct, sys, zlib
w, h = int(sys.argv[2]), int(sys.argv[3])
body = b"IHDR" + struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
data = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + body + struct.pack(">I", zlib.crc32(body))
idat = b"IDAT" + zlib.compress(b"\0" * 64)
data += struct.pack(">I", len(idat) - 4) + idat + struct.pack(">I", zlib.crc32(idat))
open(sys.argv[1], "wb").write(data)
EOF
}

# A baseline JPEG whose SOF0 declares W x H (tables from a real 8x8 file).
jpeg_header() { # $1 out, $2 width, $3 height
    "$MM_PYTHON" - "$1" "$2" "$3" <<'EOF'
import io, struct, sys
from PIL import Image
buf = io.BytesIO()
Image.new("RGB", (8, 8), (10, 20, 30)).save(buf, "JPEG")
d = bytearray(buf.getvalue())
i = d.find(b"\xff\xc0")
struct.pack_into(">HH", d, i + 5, int(sys.argv[3]), int(sys.argv[2]))
open(sys.argv[1], "wb").write(bytes(d))
EOF
}

@test "--help prints usage with defaults to stdout, status 0" {
    run mm-embed-image --help
    assert_status 0
    assert_output_contains "Usage: mm-embed-image"
    assert_output_contains "default: 100000000"
    assert_output_contains "--dump-pixels OUTDIR"
    assert_output_contains "Exit status"
}

@test "--version" {
    run mm-embed-image --version
    assert_status 0
    assert_output_contains "mm-embed-image (mmkit)"
}

@test "usage errors: status 2 with a hint" {
    MM_MODEL= run mm-embed-image "$T"
    assert_status 2
    assert_output_contains "no model"
    run mm-embed-image --dump-pixels "$T/o"
    assert_status 2
    assert_output_contains "no input images"
    run mm-embed-image --frobnicate
    assert_status 2
    assert_output_contains "Try 'mm-embed-image --help'"
    run mm-embed-image -t 0 --check x.png
    assert_status 2
    assert_output_contains "--threads"
    run mm-embed-image --max-pixels lots --check x.png
    assert_status 2
}

@test "--dump-pixels and --dump-pixels-uint8 equal the HF reference bit for bit" {
    need_shared
    run mm-embed-image -t 2 --model "$REF/models/tiny" --dump-pixels "$T/pv" \
        --dump-pixels-uint8 "$T/u8" "$REF/images"
    assert_status 0
    [ "$(ls "$T/pv" | wc -l)" -eq 5 ]
    run "$MM_PYTHON" - "$T" "$REF/preprocessed" <<'EOF'
import sys, numpy as np, os
t, ref = sys.argv[1], sys.argv[2]
bad = 0
for s in ["checkerboard", "china", "gradient", "rgba_300x200", "tall_200x500"]:
    a = np.load(f"{t}/pv/{s}.npy"); b = np.load(f"{ref}/{s}.npy")
    if a.dtype != np.float32 or a.shape != (3, 224, 224) or not np.array_equal(a, b):
        print("pixel_values differ:", s); bad += 1
    u = np.load(f"{t}/u8/{s}.npy")
    if os.path.exists(f"{ref}/{s}_crop_uint8.npy") and not np.array_equal(u, np.load(f"{ref}/{s}_crop_uint8.npy")):
        print("crop_uint8 differs:", s); bad += 1
sys.exit(bad)
EOF
    assert_status 0
}

@test "every dev image decodes and preprocesses exactly as Pillow + HF (pillow_compare.py)" {
    need_shared
    run "$MM_PYTHON" "$MM_REPO/tests/pillow_compare.py" --generated \
        --formats "$MM_SHARED/data/dev/formats.tsv" "$MM_SHARED/data/dev/images"
    echo "$output" | tail -20
    assert_status 0
    assert_output_contains "0 failures"
}

@test "directories: recursive, sorted, images only, hidden skipped; --check writes nothing" {
    mkdir -p "$T/in/b" "$T/in/a"
    "$MM_PYTHON" -c "
from PIL import Image
Image.new('RGB', (30, 20), (1, 2, 3)).save('$T/in/b/x.PNG')
Image.new('RGB', (20, 30), (4, 5, 6)).save('$T/in/a/y.jpg')
Image.new('RGB', (20, 30), (4, 5, 6)).save('$T/in/.hidden.png')
"
    echo "not an image" > "$T/in/notes.txt"
    run mm-embed-image --dump-pixels-uint8 "$T/out" "$T/in"
    assert_status 0
    [ "$(ls "$T/out")" = "$(printf 'x.npy\ny.npy')" ]
    run mm-embed-image --check "$T/in"
    assert_status 0
    [ -z "$output" ]
    mkdir "$T/empty"
    run mm-embed-image --check "$T/empty"
    assert_status 1
    assert_output_contains "no images found"
}

@test "--list: id<TAB>path relative to the list's directory; ids name the dumps" {
    mkdir -p "$T/data/images"
    "$MM_PYTHON" -c "
from PIL import Image
Image.new('RGB', (30, 20), (200, 2, 3)).save('$T/data/images/p1.png')
Image.new('L', (30, 40), 77).save('$T/data/images/p2.jpg')
"
    printf 'first\timages/p1.png\nsecond\timages/p2.jpg\n' > "$T/data/list.tsv"
    run mm-embed-image --list "$T/data/list.tsv" --dump-pixels "$T/o"
    assert_status 0
    [ -f "$T/o/first.npy" ] && [ -f "$T/o/second.npy" ]
    printf 'a/b\timages/p1.png\n' > "$T/data/bad.tsv"
    run mm-embed-image --list "$T/data/bad.tsv" --dump-pixels "$T/o2"
    assert_status 1
    assert_output_contains "cannot be used as a dump file name"
    printf 'x\timages/p1.png\textra\n' > "$T/data/bad2.tsv"
    run mm-embed-image --list "$T/data/bad2.tsv" --check
    assert_status 1
    assert_output_contains "bad2.tsv:1: expected 'id<TAB>path'"
}

@test "--list from a pipe or <(find): relative paths against the cwd; --id-stem on path lines" {
    mkdir -p "$T/w/imgs/sub"
    "$MM_PYTHON" -c "
from PIL import Image
Image.new('RGB', (30, 20), (200, 2, 3)).save('$T/w/imgs/p1.png')
Image.new('L', (30, 40), 77).save('$T/w/imgs/sub/p2.jpg')
"
    cd "$T/w"
    # process substitution: the list is /dev/fd/N, its paths are cwd-relative
    run mm-embed-image --list <(find imgs -name '*.png' -o -name '*.jpg' | sort) --dump-pixels "$T/o1"
    assert_status 0
    [ -f "$T/o1/p1.npy" ] && [ -f "$T/o1/p2.npy" ]
    # a pipe on stdin: the same
    run sh -c "find imgs -name '*.jpg' | mm-embed-image --list - --check"
    assert_status 0
    # a list file given by path: relative to its own directory
    printf 'p1.png\nsub/p2.jpg\n' > imgs/list.txt
    run mm-embed-image --list imgs/list.txt --check
    assert_status 0
    # ids: path as written by default, stems with --id-stem, the id column always
    printf 'imgs/p1.png\nnamed\timgs/sub/p2.jpg\n' > ids.txt
    mm-embed-image --model "$MM_REPO/models/default" --list - -o plain.mmf < ids.txt
    mm-embed-image --model "$MM_REPO/models/default" --id-stem --list - -o stem.mmf < ids.txt
    run mm-info --ids plain.mmf
    assert_status 0
    [ "$output" = "$(printf 'imgs/p1.png\nnamed')" ]
    run mm-info --ids stem.mmf
    [ "$output" = "$(printf 'p1\nnamed')" ]
    run mm-embed-image --help
    assert_output_contains "Record ids:"
    assert_output_contains "mm-embed-image [OPTION]... --list FILE [IMAGE|DIR]..."
    assert_output_contains "of an 'id<TAB>path' --list line"
}

@test "an unreadable image named in --list is reported with the list's file and line" {
    mkdir -p "$T/d"
    "$MM_PYTHON" -c "
from PIL import Image
Image.new('RGB', (30, 20), (200, 2, 3)).save('$T/d/ok.png')
"
    printf 'ok.png\nmissing.jpg\n' > "$T/d/list.txt"
    run --separate-stderr mm-embed-image --check --list "$T/d/list.txt"
    assert_status 1
    [ "$stderr" = "mm-embed-image: $T/d/list.txt:2: $T/d/missing.jpg: No such file or directory" ]
    run --separate-stderr mm-embed-image --check --keep-going --list - < "$T/d/list.txt"
    assert_status 3
    [[ "$stderr" == *"(stdin):2: missing.jpg: No such file or directory (skipped)"* ]]
    # a path argument has no list position
    run --separate-stderr mm-embed-image --check "$T/d/missing.jpg"
    [ "$stderr" = "mm-embed-image: $T/d/missing.jpg: No such file or directory" ]
}

@test "two inputs with the same dump name are refused before any work" {
    mkdir -p "$T/a" "$T/b"
    "$MM_PYTHON" -c "
from PIL import Image
Image.new('RGB', (8, 8)).save('$T/a/x.png'); Image.new('RGB', (8, 8)).save('$T/b/x.jpg')"
    run mm-embed-image --dump-pixels "$T/o" "$T/a" "$T/b"
    assert_status 1
    assert_output_contains "two inputs would be written here"
    [ ! -e "$T/o/x.npy" ]
}

@test "bad inputs: mm-embed-image: PATH: reason, status 1, no crash" {
    : > "$T/empty.jpg"
    run mm-embed-image --check "$T/empty.jpg"
    assert_status 1
    assert_output_contains "mm-embed-image: $T/empty.jpg: empty file"

    echo "hello, I am text" > "$T/text.png"
    run mm-embed-image --check "$T/text.png"
    assert_status 1
    assert_output_contains "$T/text.png: not an image"

    printf 'GIF89a\001\000\001\000\000\000\000;' > "$T/a.gif"
    run mm-embed-image --check "$T/a.gif"
    assert_status 1
    assert_output_contains "$T/a.gif: unsupported image format 'gif'; supported: jpeg, png"

    printf 'RIFF\030\000\000\000WEBPVP8 ' > "$T/a.jpg"
    run mm-embed-image --check "$T/a.jpg"
    assert_status 1
    assert_output_contains "unsupported image format 'webp'"

    run mm-embed-image --check "$T/missing.png"
    assert_status 1
    assert_output_contains "$T/missing.png: No such file or directory"

    printf '\377\330\377' > "$T/short.jpg"
    run mm-embed-image --check "$T/short.jpg"
    assert_status 1
    assert_output_contains "$T/short.jpg: JPEG:"
}

@test "truncated JPEG: an error by default, decodes with --lenient" {
    need_shared
    head -c 20000 "$REF/images/china.jpg" > "$T/trunc.jpg"
    run mm-embed-image --check "$T/trunc.jpg"
    assert_status 1
    assert_output_contains "mm-embed-image: $T/trunc.jpg: JPEG: Premature end of JPEG file"
    run mm-embed-image --lenient --check "$T/trunc.jpg"
    assert_status 0
}

@test "truncated and corrupt PNGs are errors" {
    need_shared
    size=$(stat -c %s "$REF/images/gradient.png")
    head -c $((size / 2)) "$REF/images/gradient.png" > "$T/trunc.png"
    run mm-embed-image --check "$T/trunc.png"
    assert_status 1
    assert_output_contains "mm-embed-image: $T/trunc.png: PNG: file ends early"
    head -c 20 "$REF/images/gradient.png" > "$T/hdr.png"
    run mm-embed-image --check "$T/hdr.png"
    assert_status 1
    assert_output_contains "$T/hdr.png: PNG:"
    # flip one byte inside the first IDAT's data: CRC error
    "$MM_PYTHON" -c "
d = bytearray(open('$REF/images/gradient.png','rb').read()); i = d.find(b'IDAT'); d[i + 20] ^= 0xff
open('$T/crc.png','wb').write(d)"
    run mm-embed-image --check "$T/crc.png"
    assert_status 1
    assert_output_contains "$T/crc.png: PNG:"
}

@test "huge declared dimensions are refused from the header, before allocating" {
    png_header "$T/huge.png" 100000 100000
    jpeg_header "$T/huge.jpg" 60000 60000
    # 400 MB of address space: allocating the 30 GB image would fail; the
    # refusal must come first, from the header. (ASan needs terabytes of
    # address space for its shadow memory: no ulimit there.)
    lim="ulimit -v 400000;"
    [ "${MM_SAN:-0}" = 1 ] && lim=""
    run bash -c "$lim mm-embed-image -t 1 --check '$T/huge.png'"
    assert_status 1
    assert_output_contains "mm-embed-image: $T/huge.png: image is 100000x100000 = 10000000000 pixels, above the limit of 100000000 (--max-pixels)"
    run bash -c "$lim mm-embed-image -t 1 --check '$T/huge.jpg'"
    assert_status 1
    assert_output_contains "$T/huge.jpg: image is 60000x60000"
    need_shared
    run mm-embed-image --max-pixels 1000 --check "$REF/images/china.jpg"
    assert_status 1
    assert_output_contains "above the limit of 1000"
    run mm-embed-image --max-pixels 0 --check "$REF/images/china.jpg"
    assert_status 0
}

@test "an image within --max-pixels that does not fit in memory is reported with its size, not fatal" {
    # 10000x10000 is the default limit exactly (allowed): 300 MB of RGB, more
    # than 250 MB of address space leave. The size is the input's, so this
    # is an error naming the file (status 1), not xalloc's death.
    [ "${MM_SAN:-0}" = 1 ] && skip "ulimit -v under ASan"
    png_header "$T/big.png" 10000 10000
    jpeg_header "$T/big.jpg" 10000 10000
    run bash -c "ulimit -v 250000; mm-embed-image -t 1 --check '$T/big.png'"
    assert_status 1
    assert_output_contains "mm-embed-image: $T/big.png: out of memory for a 10000x10000 image"
    run bash -c "ulimit -v 250000; mm-embed-image -t 1 --check '$T/big.jpg'"
    assert_status 1
    assert_output_contains "mm-embed-image: $T/big.jpg: out of memory for a 10000x10000 image"
}

@test "--skip-bad warns and goes on" {
    "$MM_PYTHON" -c "
from PIL import Image
Image.new('RGB', (30, 20), (1, 2, 3)).save('$T/good.png')"
    : > "$T/bad.png"
    run mm-embed-image --skip-bad --dump-pixels "$T/o" "$T/bad.png" "$T/good.png"
    assert_status 0
    assert_output_contains "warning: $T/bad.png: empty file (skipped)"
    [ -f "$T/o/good.npy" ] && [ ! -e "$T/o/bad.npy" ]
    run mm-embed-image --dump-pixels "$T/o2" "$T/good.png" "$T/bad.png"
    assert_status 1
}

@test "--fast-jpeg: DCT scaling on large JPEGs moves pixel_values only a little" {
    "$MM_PYTHON" -c "
import numpy as np
from PIL import Image
y, x = np.mgrid[0:900, 0:1200]
a = np.stack([(x * 255 // 1199), (y * 255 // 899), ((x // 40 + y // 40) % 2) * 255], -1).astype(np.uint8)
Image.fromarray(a).save('$T/big.jpg', quality=90)"
    run mm-embed-image --dump-pixels "$T/exact" "$T/big.jpg"
    assert_status 0
    run mm-embed-image --fast-jpeg --dump-pixels "$T/fast" "$T/big.jpg"
    assert_status 0
    run "$MM_PYTHON" -c "
import numpy as np
a = np.load('$T/exact/big.npy'); b = np.load('$T/fast/big.npy')
d = np.abs(a - b)
print('mean', d.mean(), 'max', d.max())
assert a.shape == b.shape == (3, 224, 224)
assert 0 < d.max() and d.mean() < 0.05, 'fast path off or too far'"
    echo "$output"
    assert_status 0
}

@test "thread counts give identical outputs" {
    need_shared
    head -80 "$MM_SHARED/data/dev/images.tsv" > "$T/list.tsv"
    cp -r "$MM_SHARED/data/dev/images" "$T/images"
    run mm-embed-image -t 1 -b 3 --list "$T/list.tsv" --dump-pixels "$T/t1"
    assert_status 0
    run mm-embed-image -t 2 -b 7 --list "$T/list.tsv" --dump-pixels "$T/t2"
    assert_status 0
    diff -r "$T/t1" "$T/t2"
}
