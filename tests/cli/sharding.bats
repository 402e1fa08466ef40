#!/usr/bin/env bats
# The README's "Sharding across machines" recipe, run on this machine: GNU
# Parallel with --sshlogin : (its name for the local host) and -j4 local jobs
# standing in for four hosts. Sharded results must equal one whole run bit for
# bit: embeddings (same records, same order), rankings merged with
# `mm-rank --merge` (ties included), and scripts/eval-batch's summary table.
load common
bats_require_minimum_version 1.5.0

setup() {
    command -v parallel > /dev/null || skip "needs GNU Parallel (scripts/install-deps)"
    cd "$BATS_TEST_TMPDIR" || return 1
    export HOME="$BATS_TEST_TMPDIR" # parallel keeps its state in ~/.parallel
    MODEL="$MM_REPO/models/default"
    # the demo images, plus byte-identical copies in the first and the last
    # shard, so that the gallery has exact score ties across shards
    mkdir images
    cp "$MM_REPO"/data/demo/images/* images/
    cp images/d-i0001.jpg images/a-dup.jpg
    cp images/d-i0001.jpg images/z-dup.jpg
    cp images/d-i0004.png images/zz-dup.png
    find images -name '*.jpg' -o -name '*.png' | sort > all.txt
    split -n l/4 -d all.txt shard.
}

# same ids and the same float bits, record by record
same_records() {
    mm-convert "$1" -o "$1.npy" --ids-out "$1.ids"
    mm-convert "$2" -o "$2.npy" --ids-out "$2.ids"
    cmp "$1.ids" "$2.ids" && cmp "$1.npy" "$2.npy"
}

@test "sharded mm-embed-image (parallel -j4 --sshlogin :) cats to the records of one run, bit for bit" {
    [ "$(ls shard.0*)" = "$(printf 'shard.00\nshard.01\nshard.02\nshard.03')" ]
    parallel --will-cite -j4 --sshlogin : --transferfile {} --return {}.mmf --cleanup \
        "mm-embed-image --model '$MODEL' -t 1 --id-stem --list {} -o {}.mmf" ::: shard.0?
    cat shard.0?.mmf > gallery.mmf
    run mm-info gallery.mmf
    assert_status 0
    assert_output_contains "4 segments"
    mm-embed-image --model "$MODEL" --id-stem --list all.txt -o whole.mmf
    same_records gallery.mmf whole.mmf
    [ "$(mm-info --ids gallery.mmf | wc -l)" -eq "$(wc -l < all.txt)" ]
    # the ties are there: three copies, in three different shards
    [ "$(head -n 1 shard.00)" = images/a-dup.jpg ]
    grep -qx 'images/z-dup.jpg' shard.03
}

@test "rank against gallery shards in parallel; mm-rank --merge equals one mm-rank, byte for byte, ties included" {
    parallel --will-cite -j4 --sshlogin : \
        "mm-embed-image --model '$MODEL' -t 1 --id-stem --list {} -o gallery.{}.mmf" ::: shard.0?
    cat gallery.shard.0?.mmf > whole.mmf
    mm-embed-text --model "$MODEL" "$MM_REPO/data/demo/captions.tsv" -o q.mmf
    # image queries too: their own duplicates score exactly alike
    mm-embed-image --model "$MODEL" --id-stem images/d-i0001.jpg images/d-i0004.png -o qi.mmf
    for k in 5 100 1000; do
        for q in q.mmf qi.mmf; do
            parallel --will-cite -j4 --sshlogin : \
                "mm-rank -t 1 -q $q -g {} -k $k -o {/.}.trec" ::: gallery.shard.0?.mmf
            mm-rank --merge -k "$k" gallery.shard.0?.trec > merged.trec
            mm-rank -q "$q" -g whole.mmf -k "$k" > one.trec
            cmp merged.trec one.trec
            [ -s one.trec ]
        done
    done
    # the tie is real: the copies of d-i0001 have the same score for its query
    run awk '$1 == "d-i0001" && ($3 == "a-dup" || $3 == "z-dup" || $3 == "d-i0001") { print $5 }' one.trec
    [ "$(printf '%s\n' "$output" | wc -l)" -eq 3 ]
    [ "$(printf '%s\n' "$output" | sort -u | wc -l)" -eq 1 ]
}

@test "scripts/eval-batch: many runs, one qrels, one summary table equal to mm-eval run by run" {
    mm-embed-image --model "$MODEL" --id-stem --list all.txt -o g.mmf
    mm-embed-text --model "$MODEL" "$MM_REPO/data/demo/captions.tsv" -o q.mmf
    runs=()
    for k in 1 3 10 50 100 200; do
        mm-rank -q q.mmf -g g.mmf -k "$k" --tag "k$k" -o "run.k$k.trec"
        runs+=("run.k$k.trec")
    done
    qrels="$MM_REPO/data/demo/qrels.t2i.txt"
    run --separate-stderr "$MM_REPO/scripts/eval-batch" -j 4 -m map -m P.5 -m ndcg_cut.10 \
        -o table.tsv "$qrels" "${runs[@]}"
    assert_status 0
    [ -z "$output" ]
    # the expected table, one mm-eval at a time
    {
        printf 'run\tmap\tP_5\tndcg_cut_10\n'
        for r in "${runs[@]}"; do
            printf '%s' "$r"
            mm-eval -m map -m P.5 -m ndcg_cut.10 "$qrels" "$r" |
                awk -F '\t' '$2 == "all" && $1 !~ /^runid/ { printf "\t%s", $3 }'
            printf '\n'
        done
    } > expected.tsv
    diff expected.tsv table.tsv
    [ "$(wc -l < table.tsv)" -eq 7 ]
    # the same through an --sshloginfile (':' = this host), and without parallel
    echo : > hosts
    "$MM_REPO/scripts/eval-batch" -S hosts -m map -m P.5 -m ndcg_cut.10 "$qrels" "${runs[@]}" > viahosts.tsv
    diff expected.tsv viahosts.tsv
    mkdir nopar && ln -s "$(command -v mm-eval)" nopar/mm-eval
    for t in awk sed cat mktemp rm mv nproc printf; do ln -sf "$(command -v $t)" nopar/ 2> /dev/null || true; done
    PATH="$PWD/nopar" "$BASH" "$MM_REPO/scripts/eval-batch" -m map -m P.5 -m ndcg_cut.10 "$qrels" "${runs[@]}" > seq.tsv
    diff expected.tsv seq.tsv
    # a failing run: status 1, the run named
    run --separate-stderr "$MM_REPO/scripts/eval-batch" "$qrels" run.k1.trec missing.trec
    assert_status 1
    [[ "$stderr" == *"missing.trec"* ]]
    run "$MM_REPO/scripts/eval-batch" "$qrels"
    assert_status 2
}
