#!/usr/bin/env bats
# mm-fuse: early fusion of feature files (every method, the id join, --missing,
# --group-by, --aligned), late fusion of runs (every method and normalisation,
# trec_eval tie order, -k/--depth, --optimize), and every bad-input path with
# its message, exit status and an untouched -o.
load common
bats_require_minimum_version 1.5.0

setup() {
    cd "$BATS_TEST_TMPDIR" || return 1
    printf 'a\t1 2\nb\t3 4\nc\t5 6\n' | mm-convert --to mmf -o A.mmf
    printf 'c\t1 1\na\t0 1\nb\t2 0\n' | mm-convert --to mmf -o B.mmf   # other order
    printf 'a\t1 0 0\nb\t0 1 0\nc\t0 0 1\n' | mm-convert --to mmf -o C.mmf  # dim 3
    printf 'q1 Q0 d1 1 3.0 r1\nq1 Q0 d2 2 2.0 r1\nq1 Q0 d3 3 1.0 r1\nq2 Q0 d1 1 5 r1\n' > r1.trec
    printf 'q1 Q0 d3 1 0.9 r2\nq1 Q0 d1 2 0.5 r2\nq1 Q0 d4 3 0.1 r2\n' > r2.trec
}

tsv() { mm-convert "$1" --to tsv; }

# ---- help, version, usage --------------------------------------------------------

@test "mm-fuse --help: usage on stdout with every flag and default, status 0" {
    run --separate-stderr mm-fuse --help
    assert_status 0
    [ -z "$stderr" ]
    assert_output_contains "Usage: mm-fuse [OPTION]... A.mmf B.mmf"
    assert_output_contains "mm-fuse --runs"
    for opt in --method --weights --output --input-norm --normalize --missing --group-by \
               --aligned --dtype --runs --rrf-k --norm --depth --k --tag --digits --optimize \
               --qrels --search --step --rounds --weights-out --eval-level --eval-complete \
               --quiet --progress --help --version; do
        assert_output_contains "$opt"
    done
    assert_output_contains "concat (default)"
    assert_output_contains "rrf (default)"
    assert_output_contains "default 60"
    assert_output_contains "minmax (default)"
    assert_output_contains "default 1000"
    assert_output_contains "default 0.1"
    assert_output_contains "error (default)"
    assert_output_contains "141"
}

@test "mm-fuse --version" {
    run mm-fuse --version
    assert_status 0
    [[ "$output" =~ ^mm-fuse\ \(mmkit\)\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "usage errors: status 2, message and hint, nothing written" {
    run --separate-stderr mm-fuse
    assert_status 2
    [[ "$stderr" == "mm-fuse: no inputs"* ]]

    run --separate-stderr mm-fuse --method average A.mmf B.mmf -o out.mmf
    assert_status 2
    [[ "$stderr" == "mm-fuse: option --method: unknown method 'average'; supported: concat, mean, sum, wsum, product, max"* ]]
    [ ! -e out.mmf ]

    run --separate-stderr mm-fuse --method rrf A.mmf B.mmf
    assert_status 2
    [[ "$stderr" == *"--method rrf fuses runs: add --runs"* ]]

    run --separate-stderr mm-fuse --runs --method mean r1.trec r2.trec
    assert_status 2
    [[ "$stderr" == *"--method mean fuses feature files, not runs"* ]]

    run --separate-stderr mm-fuse --runs --method bogus r1.trec r2.trec
    assert_status 2
    [[ "$stderr" == *"unknown method 'bogus'; supported with --runs: rrf, combsum, combmnz, combmax, wsum"* ]]

    run --separate-stderr mm-fuse --weights 1,2,3 A.mmf B.mmf -o out.mmf
    assert_status 2
    [[ "$stderr" == "mm-fuse: option --weights: 3 weights for 2 inputs"* ]]
    [ ! -e out.mmf ]

    run --separate-stderr mm-fuse --runs --weights 1 r1.trec r2.trec
    assert_status 2
    [[ "$stderr" == *"--weights: 1 weight for 2 inputs"* ]]

    run --separate-stderr mm-fuse --weights 1,x A.mmf B.mmf
    assert_status 2
    [[ "$stderr" == *"weight 2 of '1,x' is not a finite number"* ]]

    run --separate-stderr mm-fuse --method wsum A.mmf B.mmf
    assert_status 2
    run --separate-stderr mm-fuse --method product --weights 1,2 A.mmf B.mmf
    assert_status 2
    run --separate-stderr mm-fuse --group-by 'suffix' A.mmf
    assert_status 2
    [[ "$stderr" == *"expected suffix:SEP, head:SEP, prefix:N or id"* ]]
    run --separate-stderr mm-fuse --normalize l3 A.mmf
    assert_status 2
    run --separate-stderr mm-fuse --missing maybe A.mmf B.mmf
    assert_status 2
    run --separate-stderr mm-fuse --aligned --normalize zscore A.mmf B.mmf
    assert_status 2
    run --separate-stderr mm-fuse --aligned --missing skip A.mmf B.mmf
    assert_status 2
    # options of the other mode
    run --separate-stderr mm-fuse -k 10 A.mmf B.mmf
    assert_status 2
    [[ "$stderr" == *"-k applies to run fusion (--runs)"* ]]
    run --separate-stderr mm-fuse --runs --group-by suffix:# r1.trec
    assert_status 2
    [[ "$stderr" == *"--group-by applies to feature fusion"* ]]
    run --separate-stderr mm-fuse --runs --norm minmax r1.trec r2.trec
    assert_status 2
    [[ "$stderr" == *"--norm does not apply to rrf"* ]]
    run --separate-stderr mm-fuse --runs --method combsum --optimize map r1.trec r2.trec
    assert_status 2
    [[ "$stderr" == *"--optimize needs --qrels FILE"* ]]
    run --separate-stderr mm-fuse --runs --step 0.3 --optimize map --qrels x r1.trec r2.trec
    assert_status 2
    run --separate-stderr mm-fuse - - 
    assert_status 2
}

# ---- early fusion ------------------------------------------------------------------

@test "concat joins by id (inputs in different orders); dim = sum of dims; metadata" {
    run --separate-stderr mm-fuse A.mmf B.mmf C.mmf -o f.mmf
    assert_status 0
    [ -z "$stderr" ]
    [ "$(tsv f.mmf)" = "$(printf 'a\t1 2 0 1 1 0 0\nb\t3 4 2 0 0 1 0\nc\t5 6 1 1 0 0 1')" ]
    run mm-info f.mmf
    assert_output_contains "dim 7"
    assert_output_contains "fusion.method=concat"
    assert_output_contains "fusion.weights=1,1,1"
    assert_output_contains "fusion.input.1=A.mmf"
    assert_output_contains "fusion.input.3.dim=3"
    assert_output_contains "modality=fused"
    assert_output_contains "producer=mm-fuse"
}

@test "mean, sum, wsum, product, max: hand-worked values" {
    [ "$(mm-fuse -m mean A.mmf B.mmf | mm-convert --to tsv)" = "$(printf 'a\t0.5 1.5\nb\t2.5 2\nc\t3 3.5')" ]
    [ "$(mm-fuse -m sum A.mmf B.mmf | mm-convert --to tsv)" = "$(printf 'a\t1 3\nb\t5 4\nc\t6 7')" ]
    [ "$(mm-fuse -m wsum -w 2,0.5 A.mmf B.mmf | mm-convert --to tsv)" = "$(printf 'a\t2 4.5\nb\t7 8\nc\t10.5 12.5')" ]
    [ "$(mm-fuse -m mean -w 3,1 A.mmf B.mmf | mm-convert --to tsv)" = "$(printf 'a\t0.75 1.75\nb\t2.75 3\nc\t4 4.75')" ]
    [ "$(mm-fuse -m product A.mmf B.mmf | mm-convert --to tsv)" = "$(printf 'a\t0 2\nb\t6 0\nc\t5 6')" ]
    [ "$(mm-fuse -m max A.mmf B.mmf | mm-convert --to tsv)" = "$(printf 'a\t1 2\nb\t3 4\nc\t5 6')" ]
    [ "$(mm-fuse -m max -w 1,10 A.mmf B.mmf | mm-convert --to tsv)" = "$(printf 'a\t1 10\nb\t20 4\nc\t10 10')" ]
    mm-fuse -m wsum -w 2,0.5 A.mmf B.mmf | mm-info - | grep -q "fusion.weights=2,0.5"
}

@test "one input with weight 1 is that input, for every method" {
    for m in concat mean sum wsum max; do
        [ "$(mm-fuse -m $m -w 1 A.mmf | mm-convert --to tsv)" = "$(tsv A.mmf)" ]
    done
    [ "$(mm-fuse -m product A.mmf | mm-convert --to tsv)" = "$(tsv A.mmf)" ]
}

@test "normalisations: --input-norm l2, --normalize l2 sets the flag, zscore" {
    printf 'a\t3 4\nb\t1 0\nc\t2 2\n' | mm-convert --to mmf -o N.mmf
    [ "$(mm-fuse --input-norm l2 N.mmf | mm-convert --to tsv | head -n 1)" = "$(printf 'a\t0.600000024 0.800000012')" ]
    mm-fuse --normalize l2 N.mmf -o n.mmf
    mm-info n.mmf | grep -q "normalized"
    [ "$(tsv n.mmf | head -n 1)" = "$(printf 'a\t0.600000024 0.800000012')" ]
    # zscore per dimension: dim 0 (3,1,2) -> (1.22474487, -1.22474487, 0)
    [ "$(mm-fuse --normalize zscore N.mmf | mm-convert --to tsv | cut -f2 | cut -d' ' -f1)" = \
      "$(printf '1.22474492\n-1.22474492\n0')" ]
}

@test "--group-by suffix:# averages the captions of each image" {
    printf 'img1#0\t1 0\nimg2#0\t2 2\nimg1#1\t0 1\nimg1#2\t0.5 0.5\nimg3\t4 0\n' | mm-convert --to mmf -o caps.mmf
    run --separate-stderr mm-fuse --method mean --group-by 'suffix:#' caps.mmf -o texts.mmf
    assert_status 0
    [ "$(tsv texts.mmf)" = "$(printf 'img1\t0.5 0.5\nimg2\t2 2\nimg3\t4 0')" ]
    mm-info texts.mmf | grep -q "fusion.group_by=suffix:#"
    # head:SEP and prefix:N
    printf 'x_1_a\t1\nx_2_b\t3\ny_1\t5\n' | mm-convert --to mmf -o h.mmf
    [ "$(mm-fuse -g head:_ h.mmf | mm-convert --to tsv)" = "$(printf 'x\t2\ny\t5')" ]
    [ "$(mm-fuse -g prefix:1 h.mmf | mm-convert --to tsv)" = "$(printf 'x\t2\ny\t5')" ]
    # grouped captions joined with images: image + mean-caption item embeddings
    printf 'img3\t9\nimg1\t7\nimg2\t8\n' | mm-convert --to mmf -o imgs.mmf
    [ "$(mm-fuse -g 'suffix:#' imgs.mmf caps.mmf | mm-convert --to tsv)" = \
      "$(printf 'img3\t9 4 0\nimg1\t7 0.5 0.5\nimg2\t8 2 2')" ]
}

@test "missing ids: error names the first missing id and the file; skip; zero" {
    printf 'a\t1\nb\t2\nc\t3\n' | mm-convert --to mmf -o ma.mmf
    printf 'c\t30\nd\t40\na\t10\n' | mm-convert --to mmf -o mb.mmf
    run --separate-stderr mm-fuse -m sum ma.mmf mb.mmf -o out.mmf
    assert_status 1
    [ -z "$output" ]
    [[ "$stderr" == "mm-fuse: mb.mmf: id 'b' (present in ma.mmf) is missing; --missing skip drops such ids, --missing zero uses zeros" ]]
    [ ! -e out.mmf ]
    ls -a | grep -vq 'out.mmf.tmp' # no temporary left behind
    [ "$(mm-fuse -m sum --missing skip ma.mmf mb.mmf | mm-convert --to tsv)" = "$(printf 'a\t11\nc\t33')" ]
    [ "$(mm-fuse -m sum --missing zero ma.mmf mb.mmf | mm-convert --to tsv)" = "$(printf 'a\t11\nb\t2\nc\t33\nd\t40')" ]
}

@test "duplicate ids are an error unless --group-by id averages them" {
    printf 'a\t1\nb\t2\na\t3\n' | mm-convert --to mmf -o dup.mmf
    run --separate-stderr mm-fuse dup.mmf -o out.mmf
    assert_status 1
    [[ "$stderr" == "mm-fuse: dup.mmf: record 3: duplicate id 'a' (also record 1)"* ]]
    [ ! -e out.mmf ]
    [ "$(mm-fuse -g id dup.mmf | mm-convert --to tsv)" = "$(printf 'a\t2\nb\t2')" ]
}

@test "dimension mismatch for mean: status 1, message, -o untouched" {
    echo previous > out.mmf
    run --separate-stderr mm-fuse -m mean A.mmf C.mmf -o out.mmf
    assert_status 1
    [ "$stderr" = "mm-fuse: C.mmf: dimension 3 differs from A.mmf's 2 (method mean needs equal dimensions; concat accepts different ones)" ]
    [ "$(cat out.mmf)" = previous ]
}

@test "bad input files: truncated and non-MMF input are runtime errors" {
    head -c 40 A.mmf > cut.mmf
    run --separate-stderr mm-fuse cut.mmf B.mmf -o out.mmf
    assert_status 1
    [[ "$stderr" == "mm-fuse: cut.mmf: "*"truncated"* ]]
    [ ! -e out.mmf ]
    run --separate-stderr mm-fuse nosuch.mmf B.mmf
    assert_status 1
    [[ "$stderr" == "mm-fuse: nosuch.mmf"* ]]
}

@test "--aligned streams row by row and matches the join; misaligned input is refused" {
    printf 'a\t0 1\nb\t2 0\nc\t1 1\n' | mm-convert --to mmf -o B2.mmf   # B in A's order
    for m in concat mean sum max product; do
        [ "$(mm-fuse --aligned -m $m --input-norm l2 A.mmf B2.mmf | mm-convert --to tsv)" = \
          "$(mm-fuse -m $m --input-norm l2 A.mmf B.mmf | mm-convert --to tsv)" ]
    done
    mm-fuse --aligned A.mmf B2.mmf | mm-info - | grep -q "fusion.mode=aligned"
    run --separate-stderr mm-fuse --aligned A.mmf B.mmf -o out.mmf
    assert_status 1
    [ "$stderr" = "mm-fuse: B.mmf: record 1: id 'c' differs from A.mmf's 'a' (inputs are not aligned; drop --aligned to join by id)" ]
    [ ! -e out.mmf ]
    # a stream from stdin, in a pipe
    [ "$(tsv A.mmf | mm-convert --from tsv --to mmf | mm-fuse --aligned -m sum - B2.mmf | mm-convert --to tsv)" = \
      "$(printf 'a\t1 3\nb\t5 4\nc\t6 7')" ]
}

@test "the join also reads TSV (id<TAB>values) inputs; --aligned needs MMF" {
    printf 'b\t10 20\na\t30 40\nc\t0 0\n' > T.tsv
    [ "$(mm-fuse A.mmf T.tsv | mm-convert --to tsv)" = "$(printf 'a\t1 2 30 40\nb\t3 4 10 20\nc\t5 6 0 0')" ]
    printf 'x\t1 2\ny\t3\n' > bad.tsv
    run --separate-stderr mm-fuse A.mmf bad.tsv -o out.mmf
    assert_status 1
    [[ "$stderr" == "mm-fuse: bad.tsv:2: "* ]]
    [ ! -e out.mmf ]
    run --separate-stderr mm-fuse --aligned A.mmf T.tsv
    assert_status 1
    [[ "$stderr" == "mm-fuse: T.tsv: "*"not an MMF"* ]]
}

@test "--dtype f16 output" {
    mm-fuse --dtype f16 A.mmf B.mmf -o h.mmf
    mm-info h.mmf | grep -q f16
    [ "$(tsv h.mmf)" = "$(printf 'a\t1 2 0 1\nb\t3 4 2 0\nc\t5 6 1 1')" ]
}

# ---- late fusion ---------------------------------------------------------------------

@test "--runs rrf: hand-worked scores and trec_eval order" {
    run --separate-stderr mm-fuse --runs r1.trec r2.trec
    assert_status 0
    [ -z "$stderr" ]
    # d1: 1/61 + 1/62, d3: 1/63 + 1/61, d2: 1/62, d4: 1/63
    [ "$output" = "$(printf '%s\n' \
        'q1 Q0 d1 1 0.03252247488101534 mm-fuse-rrf' \
        'q1 Q0 d3 2 0.032266458495966696 mm-fuse-rrf' \
        'q1 Q0 d2 3 0.016129032258064516 mm-fuse-rrf' \
        'q1 Q0 d4 4 0.015873015873015872 mm-fuse-rrf' \
        'q2 Q0 d1 1 0.01639344262295082 mm-fuse-rrf')" ]
    # --rrf-k, -k, --tag
    run mm-fuse --runs --rrf-k 0 -k 1 --tag T r1.trec r2.trec
    [ "$output" = "$(printf 'q1 Q0 d1 1 1.5 T\nq2 Q0 d1 1 1 T')" ]
}

@test "--runs combsum/combmnz/combmax with minmax; ties by docid descending" {
    run mm-fuse --runs -m combsum r1.trec r2.trec
    [ "$(cut -d' ' -f1,3,5 <<< "$output")" = "$(printf 'q1 d1 1.5\nq1 d3 1\nq1 d2 0.5\nq1 d4 0\nq2 d1 1')" ]
    run mm-fuse --runs -m combmnz r1.trec r2.trec
    [ "$(cut -d' ' -f1,3,5 <<< "$output")" = "$(printf 'q1 d1 3\nq1 d3 2\nq1 d2 0.5\nq1 d4 0\nq2 d1 1')" ]
    run mm-fuse --runs -m combmax r1.trec r2.trec
    [ "$(cut -d' ' -f1,3,5 <<< "$output")" = "$(printf 'q1 d3 1\nq1 d1 1\nq1 d2 0.5\nq1 d4 0\nq2 d1 1')" ]
    run mm-fuse --runs -m wsum -w 2,1 r1.trec r2.trec
    [ "$(cut -d' ' -f1,3,5 <<< "$output")" = "$(printf 'q1 d1 2.5\nq1 d3 1\nq1 d2 1\nq1 d4 0\nq2 d1 2')" ]
    run --separate-stderr mm-fuse --runs -m wsum r1.trec r2.trec
    assert_status 2
}

@test "--runs normalisations none, sum, rank, zscore; --depth" {
    run mm-fuse --runs -m combsum --norm none r1.trec r2.trec
    [ "$(cut -d' ' -f3,5 <<< "$output" | head -n 4)" = "$(printf 'd1 3.5\nd2 2\nd3 1.9\nd4 0.1')" ]
    run mm-fuse --runs -m combsum --norm rank r1.trec r2.trec
    [ "$(cut -d' ' -f3,5 <<< "$output" | head -n 4)" = "$(printf 'd1 1.6666666666666667\nd3 1.3333333333333335\nd2 0.6666666666666667\nd4 0.33333333333333337')" ]
    run mm-fuse --runs -m combsum --norm sum r1.trec r2.trec
    [ "$(cut -d' ' -f3 <<< "$output" | head -n 4 | tr '\n' ' ')" = "d1 d3 d2 d4 " ]
    run mm-fuse --runs -m combsum --norm zscore r1.trec r2.trec
    [ "$(head -n 1 <<< "$output" | cut -d' ' -f3,5)" = "d1 1.224744871391589" ]
    run mm-fuse --runs --depth 1 r1.trec r2.trec
    [ "$(cut -d' ' -f1,3 <<< "$output")" = "$(printf 'q1 d3\nq1 d1\nq2 d1')" ]
}

@test "--runs: RRF of a run with itself keeps its order; the fused file evaluates like mm-eval" {
    "$MM_PYTHON" - <<'EOF'
import random
random.seed(3)
with open("big.trec", "w") as f:
    for q in range(20):
        docs = random.sample(range(10000), 200)
        for r, d in enumerate(docs):
            f.write("q%d Q0 doc%d %d %d run\n" % (q, d, r + 1, random.randint(0, 9)))
EOF
    mm-fuse --runs -k 0 big.trec big.trec > self.trec
    # same order as the input sorted the trec_eval way (score desc, docid desc)
    LC_ALL=C sort -k1,1 -k5,5gr -k3,3r big.trec | cut -d' ' -f1,3 > want.txt
    LC_ALL=C sort -s -k1,1 self.trec | cut -d' ' -f1,3 > got.txt
    diff want.txt got.txt
}

@test "malformed run line: 'file:line: problem', status 1, -o untouched" {
    printf 'q1 Q0 d1 1 3.0 r1\nq1 Q0 d2 2\n' > bad.trec
    echo previous > out.trec
    run --separate-stderr mm-fuse --runs r1.trec bad.trec -o out.trec
    assert_status 1
    [[ "$stderr" == "mm-fuse: bad.trec:2: "* ]]
    [ "$(cat out.trec)" = previous ]
    printf 'q1 Q0 d1 1 abc r1\n' > bad2.trec
    run --separate-stderr mm-fuse --runs bad2.trec r1.trec
    assert_status 1
    [[ "$stderr" == "mm-fuse: bad2.trec:1: "* ]]
    run --separate-stderr mm-fuse --runs r1.trec nosuch.trec
    assert_status 1
    [[ "$stderr" == "mm-fuse: nosuch.trec"* ]]
    # a run read from standard input
    run --separate-stderr bash -c 'cat r2.trec | mm-fuse --runs r1.trec -'
    assert_status 0
    [ "$(head -n 1 <<< "$output" | cut -d' ' -f3)" = d1 ]
}

@test "--optimize: prints the best weights, writes the run fused with them; mm-eval agrees" {
    printf 'q1 0 d3 1\nq1 0 d4 1\nq2 0 d1 1\n' > q.qrels
    run --separate-stderr mm-fuse --runs -m combsum --optimize map --qrels q.qrels \
        --weights-out w.txt r1.trec r2.trec -o fused.trec
    assert_status 0
    # uniform + 11 grid points at step 0.1, of which 0,1 is skipped: it drops q2
    [[ "$stderr" == *"mm-fuse: best weights 0.3,0.7: map 0.8750 (11 candidates, grid search)"* ]]
    [[ "$stderr" == *"1 candidates skipped: a zero weight left a qrels query without results"* ]]
    [ "$(cat w.txt)" = "0.3,0.7" ]
    [ "$(mm-fuse --runs -m combsum -w "$(cat w.txt)" r1.trec r2.trec)" = "$(cat fused.trec)" ]
    if command -v mm-eval > /dev/null; then
        run mm-eval -m map q.qrels fused.trec
        [[ "$output" == *"0.8750"* ]]
    fi
    run --separate-stderr mm-fuse --runs -m combsum --optimize map --qrels q.qrels --search ascent \
        r1.trec r2.trec
    assert_status 0
    [[ "$stderr" == *"map 0.8750"*"ascent search"* ]]
    run --separate-stderr mm-fuse --runs -m combsum --optimize P.5,10 --qrels q.qrels r1.trec r2.trec
    assert_status 1
    [[ "$stderr" == *"gives 2 values"* ]]
    run --separate-stderr mm-fuse --runs --optimize map --qrels q.qrels --weights 1,1 r1.trec r2.trec
    assert_status 2
}

@test "writing to a full disk is reported (status 1)" {
    [ -c /dev/full ] || skip "no /dev/full"
    run --separate-stderr bash -c 'mm-fuse A.mmf B.mmf > /dev/full'
    assert_status 1
    [[ "$stderr" == "mm-fuse: "* ]]
    run --separate-stderr bash -c 'mm-fuse --runs r1.trec r2.trec > /dev/full'
    assert_status 1
    [[ "$stderr" == "mm-fuse: "* ]]
}

# An independent implementation in Python of every late-fusion method and
# normalisation (the formulas of mm-fuse(1), summed in run order as mm-fuse
# does), compared byte for byte on random runs with ties, partial overlaps,
# queries missing from some runs, --depth and -k.
@test "--runs: byte-identical to a Python reference for every method and normalisation" {
    "$MM_PYTHON" - <<'EOF2'
import random
random.seed(11)
for name in ("ra", "rb", "rc"):
    with open(name + ".trec", "w") as f:
        for q in range(8):
            if name == "rc" and q % 3 == 0:
                continue  # queries missing from one run
            docs = random.sample(range(60), random.randint(1, 40))
            for d in docs:
                s = random.choice([random.randint(0, 5) / 2, random.uniform(-3, 3)])
                f.write("q%d Q0 d%d 0 %r %s\n" % (q, d, s, name))
EOF2
    cat > ref.py <<'EOF2'
import math, sys
method, norm, weights, depth, k = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
paths = sys.argv[6:]
w = [float(x) for x in weights.split(",")] if weights else [1.0] * len(paths)
def tiekey(item):  # score desc, docid bytes desc
    return (-item[0], [-c for c in item[1].encode()] + [1])
runs = []
for p in paths:
    r = {}
    for line in open(p):
        f = line.split()
        r.setdefault(f[0], []).append((float(f[4]), f[2]))
    for q in r:
        r[q].sort(key=tiekey)
        if depth:
            r[q] = r[q][:depth]
    runs.append(r)
def normalise(lst):
    s = [x[0] for x in lst]; n = len(s)
    if method == "rrf":
        return [1.0 / (60.0 + (j + 1)) for j in range(n)]
    mn, mx = min(s), max(s)
    if norm == "minmax":
        return [(x - mn) / (mx - mn) if mx > mn else 1.0 for x in s]
    if norm == "zscore":
        mean = 0.0
        for x in s: mean += x
        mean /= n
        var = 0.0
        for x in s: var += (x - mean) * (x - mean)
        sd = math.sqrt(var / n)
        return [(x - mean) / sd if sd > 0 else 0.0 for x in s]
    if norm == "sum":
        t = 0.0
        for x in s: t += x - mn
        return [(x - mn) / t if t > 0 else 1.0 / n for x in s]
    if norm == "rank":
        return [1.0 - j / n for j in range(n)]
    return s
def fmt(v):
    for p in range(9, 18):
        t = "%.*g" % (p, v)
        if float(t) == v:
            return t
out = []
for q in sorted(set().union(*[r.keys() for r in runs]), key=lambda x: x.encode()):
    contrib = {}
    for i, r in enumerate(runs):
        if q not in r: continue
        for (sc, d), v in zip(r[q], normalise(r[q])):
            contrib.setdefault(d, [None] * len(runs))[i] = v
    items = []
    for d, c in contrib.items():
        total, best, cnt = 0.0, -math.inf, 0
        for i, v in enumerate(c):
            if v is None or w[i] == 0: continue
            x = w[i] * v; total += x; best = max(best, x); cnt += 1
        if cnt == 0: continue
        s = cnt * total if method == "combmnz" else best if method == "combmax" else total
        items.append((s, d))
    items.sort(key=tiekey)
    if k: items = items[:k]
    for j, (s, d) in enumerate(items):
        out.append("%s Q0 %s %d %s T" % (q, d, j + 1, fmt(s)))
print("\n".join(out))
EOF2
    n=0
    for m in rrf combsum combmnz combmax; do
        for norm in minmax zscore sum rank none; do
            [ "$m" = rrf ] && [ "$norm" != none ] && continue
            normopt=(); [ "$m" = rrf ] || normopt=(--norm "$norm")
            for args in "|0|0" "0.5,2,0|0|0" "|7|5" "1,0.25,3|0|3"; do
                IFS='|' read -r wts depth k <<< "$args"
                wopt=(); [ -n "$wts" ] && wopt=(-w "$wts")
                mm-fuse --runs -m $m "${normopt[@]}" "${wopt[@]}" --depth "$depth" -k "$k" --tag T \
                    ra.trec rb.trec rc.trec > got.txt
                "$MM_PYTHON" ref.py $m $norm "$wts" "$depth" "$k" ra.trec rb.trec rc.trec > want.txt
                diff want.txt got.txt > /dev/null || { echo "differs: $m $norm $args" >&2; diff want.txt got.txt | head -5 >&2; return 1; }
                n=$((n + 1))
            done
        done
    done
    [ "$n" -eq 64 ]
}
