# common.bash — loaded by every bats file: `load common`.
# Programs under test come first on PATH (MM_BIN, set by tests/run-tests).
: "${MM_BIN:=$BATS_TEST_DIRNAME/../../bin}"
: "${MM_REPO:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
: "${MM_SHARED:=$(cd "$MM_REPO/.." && pwd)/shared}"
: "${MM_PYTHON:=/usr/bin/python3}"
PATH="$MM_BIN:$PATH"
export MM_BIN MM_REPO MM_SHARED MM_PYTHON PATH

# demo_slice N: the first N images of data/demo as images.tsv (id<TAB>absolute
# path) and its first N captions as captions.tsv, in the current directory.
demo_slice() {
    head -"$1" "$MM_REPO/data/demo/images.tsv" | while IFS=$'\t' read -r id p; do
        printf '%s\t%s\n' "$id" "$MM_REPO/data/demo/$p"
    done > images.tsv
    head -"$1" "$MM_REPO/data/demo/captions.tsv" > captions.tsv
}

# Skip a test that needs ../shared when it is absent (end-user checkouts).
need_shared() {
    [ -d "$MM_SHARED/ref" ] || skip "needs ../shared (reference data)"
}

# Asserts for `run` results.
assert_status() {
    if [ "$status" -ne "$1" ]; then
        echo "expected status $1, got $status; output:" >&2
        echo "$output" >&2
        return 1
    fi
}
assert_output_contains() {
    if [[ "$output" != *"$1"* ]]; then
        echo "expected output to contain: $1" >&2
        echo "got: $output" >&2
        return 1
    fi
}

# max_abs_diff A.npy B.npy BOUND: max |a - b| over two .npy files, printed;
# fails if above the bound.
max_abs_diff() {
    "$MM_PYTHON" -c '
import numpy as np, sys
a = np.load(sys.argv[1]).astype(np.float64); b = np.load(sys.argv[2]).astype(np.float64)
assert a.shape == b.shape, (a.shape, b.shape)
d = float(np.abs(a - b).max()); print(d)
sys.exit(0 if d <= float(sys.argv[3]) else 1)' "$@"
}
