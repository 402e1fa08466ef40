#!/usr/bin/env bats
# mm-eval as a user runs it: help, usage errors, every bad-input path with its
# message and status, the trec_eval 10.0 agreement cases, the multimodal
# measures on hand-worked cases, confidence intervals, the paired tests
# against SciPy, and the JSON/TSV formats.
load common
bats_require_minimum_version 1.5.0

CASES="$MM_SHARED/ref/treceval/cases"

setup() {
    T=$BATS_TEST_TMPDIR
    printf 'q1 0 d1 1\nq1 0 d2 1\nq1 0 d3 0\nq1 0 d4 1\nq1 0 d5 -1\nq2 0 a 2\nq2 0 b 0\n' > "$T/qrels"
    printf 'q1 Q0 d3 9 0.7 A\nq1 Q0 d1 1 0.9 A\nq1 Q0 d5 1 0.5 A\nq1 Q0 d9 1 0.8 A\nq1 Q0 d2 1 0.6 A\nq2 Q0 b 1 2 A\nq2 Q0 a 2 1 A\n' > "$T/run"
}

# ---- help, version, usage -----------------------------------------------------

@test "mm-eval --help: usage on stdout, status 0" {
    run mm-eval --help
    assert_status 0
    assert_output_contains "Usage: mm-eval [OPTION]... QRELS RUN"
    assert_output_contains "--compare"
    assert_output_contains "Exit status"
}

@test "mm-eval --help -m NAME: that measure's definition" {
    run mm-eval -m ndcg_cut.10 --help
    assert_status 0
    assert_output_contains "ndcg_cut"
    assert_output_contains "Default parameters: ndcg_cut.5,10,15,20,30,100,200,500,1000"
    run mm-eval -m all_trec -h
    assert_status 0
    assert_output_contains "all_trec: runid num_q"
}

@test "mm-eval --version and -v" {
    run mm-eval --version
    assert_status 0
    assert_output_contains "mm-eval (mmkit)"
    run mm-eval -v
    assert_status 0
}

@test "usage errors exit 2 with a hint" {
    run mm-eval
    assert_status 2
    assert_output_contains "mm-eval: expected QRELS RUN, got 0 arguments"
    assert_output_contains "Try 'mm-eval --help'"
    run mm-eval "$T/qrels"
    assert_status 2
    run mm-eval --bogus "$T/qrels" "$T/run"
    assert_status 2
    run mm-eval --format xml "$T/qrels" "$T/run"
    assert_status 2
    assert_output_contains "unsupported format 'xml'; supported: text, json, tsv"
    run mm-eval -l abc "$T/qrels" "$T/run"
    assert_status 2
    assert_output_contains "option --level_for_rel: 'abc' is not an integer"
    run mm-eval --ci 1.5 "$T/qrels" "$T/run"
    assert_status 2
    run mm-eval --compare "$T/qrels" "$T/run"
    assert_status 2
    assert_output_contains "expected QRELS RUN_A RUN_B"
    run mm-eval - -
    assert_status 2
    assert_output_contains "at most one input can be standard input"
}

@test "measure errors: illegal measure, duplicate cutoffs, bad parameters (status 2)" {
    run mm-eval -m foo "$T/qrels" "$T/run"
    assert_status 2
    assert_output_contains "mm-eval: illegal measure 'foo'"
    run mm-eval -m P.5,5 "$T/qrels" "$T/run"
    assert_status 2
    assert_output_contains "duplicate cutoffs detected"
    run mm-eval -m P.0 "$T/qrels" "$T/run"
    assert_status 2
    assert_output_contains "cutoff '0' is not a positive integer"
    run mm-eval -m map.5 "$T/qrels" "$T/run"
    assert_status 2
    run mm-eval -m utility.1,2 "$T/qrels" "$T/run"
    assert_status 2
    assert_output_contains "needs 4 coefficients"
}

# ---- bad input -------------------------------------------------------------------

@test "run with a wrong field count: file:line, status 2, nothing on stdout" {
    printf 'q1 Q0 d1 1 0.9 A\nq1 Q0 d2 2 0.8\n' > "$T/bad"
    run --separate-stderr mm-eval "$T/qrels" "$T/bad"
    assert_status 2
    [ -z "$output" ]
    [[ "$stderr" == "mm-eval: $T/bad:2: expected at least 6 fields (qid iter docno rank score tag), found 5" ]]
}

@test "qrels with a wrong field count, a blank line: status 2" {
    printf 'q1 0 d1 1\nq1 0 d2 1 extra\n' > "$T/badq"
    run mm-eval "$T/badq" "$T/run"
    assert_status 2
    assert_output_contains "mm-eval: $T/badq:2: expected 4 fields (qid iter docno rel), found 5"
    printf 'q1 0 d1 1\n\nq1 0 d2 1\n' > "$T/badq"
    run mm-eval "$T/badq" "$T/run"
    assert_status 2
    assert_output_contains "mm-eval: $T/badq:2: blank line"
}

@test "non-numeric relevance and score: status 2" {
    printf 'q1 0 d1 yes\n' > "$T/badq"
    run mm-eval "$T/badq" "$T/run"
    assert_status 2
    assert_output_contains "mm-eval: $T/badq:1: relevance 'yes' is not an integer"
    printf 'q1 Q0 d1 1 high A\n' > "$T/bad"
    run mm-eval "$T/qrels" "$T/bad"
    assert_status 2
    assert_output_contains "mm-eval: $T/bad:1: score 'high' is not a number"
}

@test "empty files: status 2" {
    : > "$T/empty"
    run mm-eval "$T/empty" "$T/run"
    assert_status 2
    assert_output_contains "mm-eval: $T/empty: empty file: no judgments"
    run mm-eval "$T/qrels" "$T/empty"
    assert_status 2
    assert_output_contains "mm-eval: $T/empty: empty file: no results"
    printf '# only comments\n\n' > "$T/empty"
    run mm-eval "$T/qrels" "$T/empty"
    assert_status 2
}

@test "binary garbage: status 2, named control byte" {
    printf '\177ELF\002\001\001\000\000\000\000\000\000\000\000\000\003\000>\000' > "$T/bin"
    run mm-eval "$T/qrels" "$T/bin"
    assert_status 2
    assert_output_contains "mm-eval: $T/bin:1: binary data: control byte 0x7f in column 1"
    # bytes 0x80..0xFF are field bytes on every target (char is unsigned on
    # arm64): the first control byte is the 0x00 after 1024 of them (the
    # file is built here: under check-cross $MM_BIN/mm-eval is a script)
    "$MM_PYTHON" -c 'import sys; sys.stdout.buffer.write(bytes(range(128, 256)) * 8 + bytes(range(256)) * 4)' > "$T/bin"
    run mm-eval "$T/bin" "$T/run"
    assert_status 2
    assert_output_contains "mm-eval: $T/bin:1: binary data: control byte 0x00 in column 1025"
    run mm-eval "$T/qrels" "$T/bin"
    assert_status 2
    assert_output_contains "mm-eval: $T/bin:1: binary data: control byte 0x00 in column 1025"
}

@test "CRLF line endings: accepted with a warning, same numbers" {
    mm-eval -q -m all_trec "$T/qrels" "$T/run" > "$T/lf.out"
    sed 's/$/\r/' "$T/run" > "$T/run.crlf"
    sed 's/$/\r/' "$T/qrels" > "$T/qrels.crlf"
    run --separate-stderr mm-eval -q -m all_trec "$T/qrels.crlf" "$T/run.crlf"
    assert_status 0
    [[ "$stderr" == *"mm-eval: warning: $T/qrels.crlf:1: CRLF line endings (the CR is ignored)"* ]]
    [[ "$stderr" == *"mm-eval: warning: $T/run.crlf:1: CRLF line endings"* ]]
    diff <(echo "$output") "$T/lf.out"
    run --separate-stderr mm-eval --quiet -q -m all_trec "$T/qrels.crlf" "$T/run.crlf"
    [ -z "$stderr" ]
}

@test "UTF-8 byte-order mark: skipped with a warning, same numbers" {
    mm-eval -q "$T/qrels" "$T/run" > "$T/plain.out"
    { printf '\357\273\277'; cat "$T/run"; } > "$T/run.bom"
    { printf '\357\273\277'; cat "$T/qrels"; } > "$T/qrels.bom"
    run --separate-stderr mm-eval -q "$T/qrels.bom" "$T/run.bom"
    assert_status 0
    [[ "$stderr" == *"mm-eval: warning: $T/qrels.bom:1: UTF-8 byte-order mark ignored"* ]]
    [[ "$stderr" == *"mm-eval: warning: $T/run.bom:1: UTF-8 byte-order mark ignored"* ]]
    diff <(echo "$output") "$T/plain.out"
}

@test "unreadable input: status 2" {
    run mm-eval "$T/nonexistent" "$T/run"
    assert_status 2
    assert_output_contains "mm-eval: $T/nonexistent: cannot open: No such file or directory"
    run mm-eval "$T/qrels" "$T"
    assert_status 2
    assert_output_contains "is a directory"
}

@test "duplicate docs: status 4 (run and qrels)" {
    printf 'q1 Q0 d1 1 3 A\nq1 Q0 d2 2 2 A\nq1 Q0 d1 3 1 A\nq2 Q0 a 1 1 A\n' > "$T/dup"
    run --separate-stderr mm-eval -q -m map "$T/qrels" "$T/dup"
    assert_status 4
    [ -z "$output" ]
    [[ "$stderr" == "mm-eval: $T/dup: duplicate docs: query 'q1' retrieves 'd1' twice" ]]
    # a syntax error later in the run wins: trec_eval reads the whole run first
    printf 'q2 Q0 a 1 x A\n' >> "$T/dup"
    run mm-eval -m map "$T/qrels" "$T/dup"
    assert_status 2
    assert_output_contains "$T/dup:5: score 'x' is not a number"
    sed -i '$d' "$T/dup"
    # below the -M cut it is not looked for (as trec_eval)
    run mm-eval -M 2 -m map "$T/qrels" "$T/dup"
    assert_status 0
    printf 'q1 0 d1 1\nq1 0 d1 0\n' > "$T/dupq"
    run mm-eval "$T/dupq" "$T/run"
    assert_status 4
    assert_output_contains "duplicate docs"
}

@test "qrels query missing from the run: status 4 without -c, scored with -c" {
    printf 'q1 Q0 d1 1 0.9 A\n' > "$T/one"
    run --separate-stderr mm-eval -m map "$T/qrels" "$T/one"
    assert_status 4
    [[ "$stderr" == *"query 'q2' is in the qrels but not in the run"* ]]
    run mm-eval -c -q -m map -m num_ret "$T/qrels" "$T/one"
    assert_status 0
    assert_output_contains "$(printf 'num_ret               \tq2\t0')"
    assert_output_contains "$(printf 'map                   \tall\t0.1667')"
}

# ---- trec_eval 10.0 agreement -------------------------------------------------------

@test "trec_eval 10.0 agreement cases (../shared/ref/treceval, check.sh)" {
    need_shared
    run "$MM_SHARED/ref/treceval/check.sh" "$MM_BIN/mm-eval --trec"
    echo "$output"
    assert_status 0
    assert_output_contains "0 failed"
}

@test "trec_eval 10.0 agreement cases: byte-identical stdout, rbp included" {
    need_shared
    n=0
    for d in "$CASES"/*/; do
        [ "$(cat "$d/expected_rc")" = 0 ] || continue
        # shellcheck disable=SC2046
        mm-eval $(cat "$d/args") "$d/qrels" "$d/run" | diff - "$d/expected.txt"
        n=$((n + 1))
    done
    [ "$n" -ge 9 ]
}

@test "trec_eval error cases exit non-zero (duplicate docs: 4)" {
    need_shared
    for d in "$CASES"/*/; do
        [ "$(cat "$d/expected_rc")" != 0 ] || continue
        # shellcheck disable=SC2046
        run mm-eval $(cat "$d/args") "$d/qrels" "$d/run"
        [ "$status" = "$(cat "$d/expected_rc")" ]
    done
}

@test "trec_eval 10.0 cases written here (tests/data/treceval): prefs, qrels_prefs, qrels_jg, parameters, -J, -q partial rows" {
    n=0
    for d in "$MM_REPO"/tests/data/treceval/*/; do
        # shellcheck disable=SC2046
        mm-eval $(cat "$d/args") "$d/rel" "$d/run" > "$T/out" 2> "$T/err" && rc=0 || rc=$?
        diff "$T/out" "$d/expected.txt" || { echo "case $d: stdout differs"; return 1; }
        [ "$rc" = "$(cat "$d/expected_rc")" ] || { echo "case $d: status $rc"; return 1; }
        n=$((n + 1))
    done
    [ "$n" -ge 13 ]
}

@test "prefs, qrels_prefs and qrels_jg input errors name the file and line" {
    printf 'q1 g s d1 1\nq1 g s d2\n' > "$T/p"
    printf 'q1 Q0 d1 1 1.0 r\n' > "$T/r"
    run mm-eval -R prefs "$T/p" "$T/r"
    assert_status 2
    assert_output_contains "$T/p:2: expected 5 fields (qid jg jsg docno rel_level), found 4"
    printf 'q1 g s d1 high\n' > "$T/p"
    run mm-eval -R prefs "$T/p" "$T/r"
    assert_status 2
    assert_output_contains "$T/p:1: rel_level 'high' is not a number"
    printf 'q1 0 d1 1\nq1 0 d2 1 x\n' > "$T/p"
    run mm-eval -R qrels_prefs "$T/p" "$T/r"
    assert_status 2
    assert_output_contains "$T/p:2: expected 4 fields (qid jg docno rel), found 5"
    printf 'q1 u1 d1 1\nq1 u1 d1 0\n' > "$T/p"
    run mm-eval -R qrels_jg "$T/p" "$T/r"
    assert_status 2
    assert_output_contains "$T/p:2: duplicate docs: query 'q1' group 'u1' judges 'd1' again"
    run mm-eval -R qrels_jg -m map "$T/p" "$T/r"
    assert_status 2
    assert_output_contains "measure 'map' needs -R qrels"
    run mm-eval -m prefs_simp "$T/qrels" "$T/run"
    assert_status 2
    assert_output_contains "needs preferences"
}

@test "row order follows the measure table, not the command line" {
    run mm-eval -m ndcg_cut.3,1 -m P.2 -m map "$T/qrels" "$T/run"
    assert_status 0
    [ "$(echo "$output" | cut -f1 | tr -d ' ' | paste -sd,)" = "map,P_2,ndcg_cut_1,ndcg_cut_3" ]
}

@test "run from stdin, queries split across the file, -o atomic output" {
    mm-eval -q -m all_trec "$T/qrels" "$T/run" > "$T/ref.out"
    # interleave the two queries' lines
    awk 'NR % 2' "$T/run" > "$T/split"; awk 'NR % 2 == 0' "$T/run" >> "$T/split"
    run mm-eval -q -m all_trec "$T/qrels" "$T/split"
    diff <(echo "$output") "$T/ref.out"
    run bash -c "cat '$T/split' | mm-eval -q -m all_trec '$T/qrels' -"
    diff <(echo "$output") "$T/ref.out"
    mm-eval -q -m all_trec -o "$T/out.txt" "$T/qrels" "$T/run"
    diff "$T/out.txt" "$T/ref.out"
    printf 'q1 Q0 d1 1 x A\n' > "$T/bad"
    run mm-eval -o "$T/out2.txt" "$T/qrels" "$T/bad"
    assert_status 2
    [ ! -e "$T/out2.txt" ]
    [ -z "$(ls "$T" | grep 'out2.txt.tmp' || true)" ]
}

# ---- multimodal measures ----------------------------------------------------------

mm_case() {
    # image-to-text style: 4 queries, first relevant at ranks 1, 2, 3 and not retrieved
    printf 'q1 0 c1 1\nq2 0 c2 1\nq3 0 c3 1\nq4 0 c1 1\n' > "$T/mq"
    for q in q1 q2 q3; do printf '%s Q0 c1 1 0.9 B\n%s Q0 c2 2 0.5 B\n%s Q0 c3 3 0.1 B\n' $q $q $q; done > "$T/mr"
    printf 'q4 Q0 c2 1 0.9 B\nq4 Q0 c3 2 0.5 B\n' >> "$T/mr"
}

@test "R@K, MRR, medr, meanr on a hand-worked case" {
    mm_case
    run mm-eval -m R -m MRR -m medr -m meanr "$T/mq" "$T/mr"
    assert_status 0
    expected=$(printf '%s\n' \
        "$(printf 'R@1                   \tall\t0.2500')" \
        "$(printf 'R@5                   \tall\t0.7500')" \
        "$(printf 'R@10                  \tall\t0.7500')" \
        "$(printf 'MRR                   \tall\t0.4583')" \
        "$(printf 'medr                  \tall\t2.5000')" \
        "$(printf 'meanr                 \tall\t2.5000')")
    [ "$output" = "$expected" ]
    run mm-eval -m R@5 -m clip "$T/mq" "$T/mr"
    assert_output_contains "R@5"
    run mm-eval -q -m medr "$T/mq" "$T/mr"
    assert_output_contains "$(printf 'medr                  \tq4\t4.0000')"
}

@test "zero-shot: top-1/top-5 accuracy, balanced accuracy (independent Python), --confusion" {
    mm_case
    run mm-eval -m acc -m balanced_acc --confusion "$T/conf.tsv" "$T/mq" "$T/mr"
    assert_status 0
    assert_output_contains "$(printf 'acc@1                 \tall\t0.2500')"
    assert_output_contains "$(printf 'acc@5                 \tall\t0.7500')"
    # balanced accuracy = mean per-class recall of the top-1 predictions
    ref=$("$MM_PYTHON" -c '
from collections import defaultdict
y_true = {"q1": "c1", "q2": "c2", "q3": "c3", "q4": "c1"}
y_pred = {"q1": "c1", "q2": "c1", "q3": "c1", "q4": "c2"}
per = defaultdict(list)
for q in y_true: per[y_true[q]].append(y_pred[q] == y_true[q])
print("%6.4f" % (sum(sum(v) / len(v) for v in per.values()) / len(per)))')
    assert_output_contains "$(printf 'balanced_acc          \tall\t%s' "$ref")"
    expected=$(printf 'true\\predicted\tc1\tc2\tc3\nc1\t1\t1\t0\nc2\t1\t0\t0\nc3\t1\t0\t0')
    [ "$(cat "$T/conf.tsv")" = "$expected" ]
}

# ---- formats ---------------------------------------------------------------------

@test "--format json: one object with summary and per_query" {
    run mm-eval -q -m map -m P.5 -m relstring -m runid -m num_q --format json "$T/qrels" "$T/run"
    assert_status 0
    echo "$output" | "$MM_PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
assert set(d) >= {"summary", "per_query"}, d.keys()
s = d["summary"]
assert s["runid"] == "A" and s["num_q"] == 2, s
assert abs(s["map"] - (0.5 + 0.5) / 2) < 1e-12, s["map"]  # q1 (1 + 2/4)/3, q2 1/2
assert abs(d["per_query"]["q1"]["P_5"] - 0.4) < 1e-12
assert d["per_query"]["q1"]["relstring"] == "1-01."
'
    run mm-eval -n --format json "$T/qrels" "$T/run"
    echo "$output" | "$MM_PYTHON" -c 'import json, sys; d = json.load(sys.stdin); assert d["summary"] is None and d["per_query"] is None'
}

@test "--format tsv: header and one row per value" {
    run mm-eval -q -m map -m P.5,10 --format tsv "$T/qrels" "$T/run"
    assert_status 0
    [ "$(echo "$output" | head -1)" = "$(printf 'measure\tqid\tvalue')" ]
    [ "$(echo "$output" | wc -l)" = 10 ]
    assert_output_contains "$(printf 'map\tall\t0.500000')"
}

# ---- statistics -------------------------------------------------------------------

@test "--ci: percentile bootstrap interval around every summary value, reproducible" {
    need_shared
    d="$CASES/14_q_official_default"
    run mm-eval --ci 0.95 --bootstrap 300 --seed 7 -m map -m P.10 -m num_rel "$d/qrels" "$d/run"
    assert_status 0
    first=$output
    echo "$output" | awk -F'\t' '{ if (!($4 + 0 <= $3 + 0 && $3 + 0 <= $5 + 0 && $4 < $5)) { print "bad: " $0; exit 1 } }'
    run mm-eval --ci 0.95 --bootstrap 300 --seed 7 -m map -m P.10 -m num_rel "$d/qrels" "$d/run"
    [ "$output" = "$first" ]
    run mm-eval --ci 0.95 --bootstrap 300 --seed 7 -m map --format json "$d/qrels" "$d/run"
    echo "$output" | "$MM_PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
lo, hi = d["ci"]["intervals"]["map"]
assert lo < d["summary"]["map"] < hi and d["ci"]["bootstrap"] == 300'
}

# Paired tests checked live against SciPy on fixed inputs.
compare_vs_scipy() { # $1 = number of queries, $2 = tolerance for the permutation p
    "$MM_PYTHON" - "$T" "$1" <<'EOF'
import random, sys
t, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(11 * n)
with open(t + "/cq", "w") as q, open(t + "/ra", "w") as a, open(t + "/rb", "w") as b:
    for i in range(n):
        for d in range(20):
            q.write("t%d 0 d%d %d\n" % (i, d, 1 if d < 4 else 0))
        for f, shift in ((a, 0.0), (b, 0.3)):
            for d in range(20):
                f.write("t%d Q0 d%d 0 %.4f r\n" % (i, d, rnd.random() + (shift if d < 4 else 0)))
EOF
    mm-eval --compare --format json -q -m map -m P.5 --permutations 10000 --seed 5 \
        "$T/cq" "$T/ra" "$T/rb" > "$T/cmp.json"
    "$MM_PYTHON" - "$T/cmp.json" "$2" <<'EOF'
import json, sys
import numpy as np
from scipy import stats
d = json.load(open(sys.argv[1]))
tol = float(sys.argv[2])
for m in ("map", "P_5"):
    a = np.array([v[m][0] for v in d["per_query"].values()])
    b = np.array([v[m][1] for v in d["per_query"].values()])
    s = d["summary"][m]
    assert abs(s["mean_a"] - a.mean()) < 1e-12 and abs(s["diff"] - (b.mean() - a.mean())) < 1e-12
    t = stats.ttest_rel(b, a)
    assert abs(s["t"] - t.statistic) < 1e-9 * max(1, abs(t.statistic)), (m, s["t"], t.statistic)
    assert abs(s["p_ttest"] - t.pvalue) < 1e-9, (m, s["p_ttest"], t.pvalue)
    p = stats.permutation_test((b, a), lambda x, y, axis: np.mean(x - y, axis=axis),
                               permutation_type="samples", vectorized=True,
                               n_resamples=10000, alternative="two-sided", random_state=1)
    assert abs(s["p_permutation"] - p.pvalue) <= tol, (m, s["p_permutation"], p.pvalue)
    assert s["wins"] == int((b > a).sum()) and s["losses"] == int((b < a).sum())
    assert s["ties"] == int((b == a).sum())
print("ok")
EOF
}

@test "--compare: paired t-test and exact randomisation test equal SciPy's" {
    # 12 queries: 2^12 <= 10000 permutations, so both sides enumerate exactly
    run compare_vs_scipy 12 1e-12
    echo "$output"
    assert_status 0
}

@test "--compare: random-sign randomisation test close to SciPy's" {
    # 30 queries: both sides sample 10000 sign patterns (different generators)
    run compare_vs_scipy 30 0.02
    echo "$output"
    assert_status 0
}

@test "--compare text output: means, difference, p-values, wins/ties/losses" {
    printf 'q1 Q0 d1 1 0.1 B\nq1 Q0 d9 1 0.8 B\nq1 Q0 d2 1 0.9 B\nq2 Q0 a 1 2 B\nq2 Q0 b 2 1 B\n' > "$T/runb"
    run mm-eval --compare -m map "$T/qrels" "$T/run" "$T/runb"
    assert_status 0
    assert_output_contains "mean_A"
    line=$(echo "$output" | grep '^map')
    # A: q1 (1 + 2/4)/3 = 0.5, q2 1/2; B: q1 (1 + 2/3)/3, q2 1
    [ "$(echo "$line" | cut -f2-4)" = "$(printf '0.5000\t0.7778\t+0.2778')" ]
    [ "$(echo "$line" | cut -f7-9)" = "$(printf '2\t0\t0')" ]
}

@test "mm-eval -m P.5 -m P.10: the first parameters win (trec_eval 10.0 meas_init.c); -m P or a nickname keeps them" {
    run mm-eval -m P.5 -m P.10 "$T/qrels" "$T/run"
    assert_status 0
    [ "${#lines[@]}" -eq 1 ]
    [[ "${lines[0]}" == P_5* ]]
    run mm-eval -m P -m all_trec -m P.10 -m P.5,1 "$T/qrels" "$T/run"
    assert_status 0
    [ "$(printf '%s\n' "${lines[@]}" | grep -c '^P_')" -eq 1 ]
    printf '%s\n' "${lines[@]}" | grep -q '^P_10[[:space:]]'
}

@test "mm-eval -m R@1 -m R@5 -m R@10: repeated @ shorthands add up, in cutoff order" {
    run mm-eval -m R@10 -m R@1 -m R@5 -m R@1 "$T/qrels" "$T/run"
    assert_status 0
    [ "${#lines[@]}" -eq 3 ]
    [[ "${lines[0]}" == R@1*0.5000 ]]
    [[ "${lines[1]}" == R@5*1.0000 ]]
    [[ "${lines[2]}" == R@10*1.0000 ]]
}

@test "-R prefs: a query whose judged documents would need more than 2^30 preference cells is refused, naming it" {
    # 32769 judged documents: 32769^2 cells, just past the limit; the counts
    # would take 2 GiB, so the refusal must come before any allocation
    awk 'BEGIN { for (i = 0; i < 32769; i++) printf "q1 g s d%d %d\n", i, i % 3 }' > "$T/p"
    printf 'q1 Q0 d1 1 1.0 r\n' > "$T/r"
    run mm-eval -R prefs -m prefs_simp "$T/p" "$T/r"
    assert_status 4
    assert_output_contains "mm-eval: $T/p: query 'q1': 32769 judged documents need 1073807361 preference cells, above the limit of 1073741824"
}
