#!/usr/bin/env bats
# mm-train / mm-predict: a small separable problem learnt and scored by
# mm-eval, --seed reproducibility, the --log lines, and every bad-input
# path with its message (file and position), status and no output left.
load common
bats_require_minimum_version 1.5.0

setup() {
    cd "$BATS_TEST_TMPDIR" || return 1
    # 3 classes, 60 items; image features near one axis per class, text noisy
    "$MM_PYTHON" - << 'EOF2'
import random
random.seed(3)
with open("img.tsv", "w") as f, open("txt.tsv", "w") as g, open("labels.tsv", "w") as l:
    for i in range(60):
        c = i % 3
        f.write("it%02d\t" % i + " ".join("%.4f" % ((2 if j == c else 0) + random.gauss(0, 0.5)) for j in range(6)) + "\n")
        g.write("it%02d\t" % i + " ".join("%.4f" % ((1 if j == c else 0) + random.gauss(0, 1)) for j in range(4)) + "\n")
        l.write("it%02d\t%s\n" % (i, "abc"[c]))
EOF2
    mm-convert img.tsv -o img.mmf
    mm-convert txt.tsv -o txt.mmf
    awk '{print $1, 0, $2, 1}' labels.tsv > labels.qrels
}

no_tmp() { [ -z "$(ls -a | grep '\.tmp\.')" ]; }

@test "mm-train concat + mm-predict: learns the classes; mm-eval -m zeroshot scores the run" {
    run mm-train --fusion concat --labels labels.tsv --epochs 40 --lr 0.01 --seed 1 -o head img.mmf txt.mmf
    assert_status 0
    [ -f head/config.json ] && [ -f head/model.safetensors ]
    mm-predict --head head -k 2 img.mmf txt.mmf > run.trec
    [ "$(wc -l < run.trec)" -eq 120 ]
    head -1 run.trec | grep -Eq '^it00 Q0 [abc] 1 [0-9.e-]+ mm-predict$'
    acc=$(mm-eval -m zeroshot labels.qrels run.trec | awk '$1 == "acc@1" {print $3}')
    awk -v a="$acc" 'BEGIN { exit !(a >= 0.9) }'
    no_tmp
}

@test "mm-train none: a linear probe on one input; qrels labels work too" {
    run mm-train --fusion none --labels labels.qrels --epochs 40 --lr 0.05 -o probe img.mmf
    assert_status 0
    grep -q '"fusion": "none"' probe/config.json
    mm-predict --head probe img.mmf > run.trec
    acc=$(mm-eval -m zeroshot labels.qrels run.trec | awk '$1 == "acc@1" {print $3}')
    awk -v a="$acc" 'BEGIN { exit !(a >= 0.9) }'
}

@test "--seed: the same seed gives the same head bit for bit, another seed another head" {
    mm-train --labels labels.tsv --val-split 0.2 --seed 7 -o h1 img.mmf txt.mmf
    mm-train --labels labels.tsv --val-split 0.2 --seed 7 -o h2 img.mmf txt.mmf
    mm-train --labels labels.tsv --val-split 0.2 --seed 8 -o h3 img.mmf txt.mmf
    cmp h1/model.safetensors h2/model.safetensors
    ! cmp -s h1/model.safetensors h3/model.safetensors
    # -o over an existing head replaces it
    mm-train --labels labels.tsv --seed 8 --val-split 0.2 -o h1 img.mmf txt.mmf
    cmp h1/model.safetensors h3/model.safetensors
}

@test "--log: one JSON line per epoch with epoch, task, train_loss, val_acc" {
    mm-train --labels labels.tsv --val-split 0.25 --epochs 3 --log log.jsonl -o head img.mmf txt.mmf
    [ "$(wc -l < log.jsonl)" -eq 3 ]
    "$MM_PYTHON" -c '
import json, sys
for i, l in enumerate(open("log.jsonl")):
    o = json.loads(l)
    assert o["epoch"] == i + 1 and o["task"] == "classification", o
    assert o["train_loss"] > 0 and 0 <= o["val_acc"] <= 1 and 0 <= o["val_bacc"] <= 1, o
'
}

@test "the head loads in PyTorch (scripts/head.py) and gives mm-predict's probabilities" {
    "$MM_PYTHON" -c 'import torch' 2> /dev/null || skip "python3-torch not installed"
    mm-train --labels labels.tsv --epochs 5 -o head img.mmf txt.mmf
    mm-predict --head head -k 0 img.mmf txt.mmf > run.trec
    run "$MM_PYTHON" "$MM_REPO/scripts/head.py" --check run.trec head img.tsv txt.tsv
    assert_status 0
    assert_output_contains "max |d| "
}

# ---- bad input -------------------------------------------------------------------

@test "labels without features: error names labels file and line; --missing skip counts" {
    cp labels.tsv l2.tsv
    printf 'zz99\ta\n' >> l2.tsv
    run --separate-stderr mm-train --labels l2.tsv -o head img.mmf
    assert_status 1
    [[ "$stderr" == *"mm-train: l2.tsv:61: id zz99 has no features in img.mmf"* ]]
    [ ! -e head ]
    no_tmp
    run --separate-stderr mm-train --missing skip --epochs 1 --labels l2.tsv -o head img.mmf
    assert_status 0
    [[ "$stderr" == *"skipped 1 label(s) without features and 0 item(s) without a label"* ]]
}

@test "features without labels: error names the feature file and id; --missing skip counts" {
    head -n 59 labels.tsv > l3.tsv
    run --separate-stderr mm-train --labels l3.tsv -o head img.mmf
    assert_status 1
    [[ "$stderr" == *"img.mmf: id it59 has no label in l3.tsv"* ]]
    [ ! -e head ]
    run --separate-stderr mm-train --missing skip --epochs 1 --labels l3.tsv -o head img.mmf
    assert_status 0
    [[ "$stderr" == *"0 label(s) without features and 1 item(s) without a label"* ]]
}

@test "an item missing from the second input: error naming both files" {
    head -n 50 txt.tsv | mm-convert --to mmf -o short.mmf
    run --separate-stderr mm-train --labels labels.tsv -o head img.mmf short.mmf
    assert_status 1
    [[ "$stderr" == *"img.mmf: record 51: id it50 has no features in short.mmf"* ]]
}

@test "malformed labels: file:line" {
    printf 'it00\ta\nit01 b\n' > bad.tsv
    run --separate-stderr mm-train --labels bad.tsv -o head img.mmf
    assert_status 1
    [[ "$stderr" == *"bad.tsv:2: expected \"id<TAB>label\" or qrels \"id 0 label rel\", found 2 fields"* ]]
    printf 'it00 0 a x\n' > bad.qrels
    run --separate-stderr mm-train --labels bad.qrels -o head img.mmf
    assert_status 1
    [[ "$stderr" == *"bad.qrels:1: relevance \"x\" is not an integer"* ]]
}

@test "NaN and infinite features are refused with file, record and id" {
    printf 'a\t1 nan\nb\t1 2\n' | mm-convert --to mmf -o nan.mmf
    printf 'a\tx\nb\ty\n' > ab.tsv
    run --separate-stderr mm-train --labels ab.tsv -o head nan.mmf
    assert_status 1
    [[ "$stderr" == *"nan.mmf: record 1 (id a): value 1 is NaN"* ]]
    printf 'a\t1 2\nb\tinf 2\n' | mm-convert --to mmf -o inf.mmf
    run --separate-stderr mm-predict --head head inf.mmf
    assert_status 1
}

@test "an empty training set and a single class are errors" {
    printf 'zz\ta\n' > none.tsv
    run --separate-stderr mm-train --missing skip --labels none.tsv -o head img.mmf
    assert_status 1
    [[ "$stderr" == *"empty training set"* ]]
    awk '{print $1 "\tsame"}' labels.tsv > one.tsv
    run --separate-stderr mm-train --labels one.tsv -o head img.mmf
    assert_status 1
    [[ "$stderr" == *"one.tsv: a single class ('same'): nothing to learn"* ]]
    [ ! -e head ]
}

@test "mm-predict: head/feature dim mismatch names both; wrong input count" {
    mm-train --labels labels.tsv --epochs 1 -o head img.mmf txt.mmf
    run --separate-stderr mm-predict --head head txt.mmf img.mmf
    assert_status 1
    [[ "$stderr" == *"txt.mmf: dim 4, but input 1 of the head head/config.json has dim 6"* ]]
    run --separate-stderr mm-predict --head head img.mmf
    assert_status 1
    [[ "$stderr" == *"head/config.json: the head takes 2 inputs, 1 feature file given"* ]]
}

@test "mm-predict: missing or corrupt head files, each named; nothing written to -o" {
    mm-train --labels labels.tsv --epochs 1 -o head img.mmf txt.mmf
    cp -r head h1 && rm h1/model.safetensors
    run --separate-stderr mm-predict --head h1 -o out.trec img.mmf txt.mmf
    assert_status 1
    [[ "$stderr" == *"h1/model.safetensors: No such file or directory"* ]]
    [ ! -e out.trec ]
    cp -r head h2 && printf '{"format": "mmkit-head",' > h2/config.json
    run --separate-stderr mm-predict --head h2 -o out.trec img.mmf txt.mmf
    assert_status 1
    [[ "$stderr" == *"h2/config.json:1:"* ]]
    cp -r head h3 && head -c 100 head/model.safetensors > h3/model.safetensors
    run --separate-stderr mm-predict --head h3 -o out.trec img.mmf txt.mmf
    assert_status 1
    [[ "$stderr" == *"h3/model.safetensors"* ]]
    cp -r head h4 && sed -i 's/"hidden": 512/"hidden": 256/' h4/config.json
    run --separate-stderr mm-predict --head h4 -o out.trec img.mmf txt.mmf
    assert_status 1
    [[ "$stderr" == *"h4/model.safetensors: tensor \"fc.weight\": expected F32 [256, 10] (from h4/config.json)"* ]]
    [ ! -e out.trec ]
    no_tmp
}

@test "usage errors: required options, unknown fusion" {
    run mm-train -o head img.mmf
    assert_status 2
    run mm-train --labels labels.tsv img.mmf
    assert_status 2
    run mm-train --fusion bogus --labels labels.tsv -o head img.mmf
    assert_status 2
    assert_output_contains "--fusion: unknown 'bogus'"
    run mm-predict img.mmf
    assert_status 2
}

# ---- golden: PyTorch trains the same head on the same batches -----------------

@test "golden: none, concat, gated against a PyTorch reference trainer: 50 steps, every loss and parameter to 1e-4" {
    "$MM_PYTHON" -c 'import torch' 2> /dev/null || skip "python3-torch not installed"
    cp img.tsv g_img.tsv; cp txt.tsv g_txt.tsv; cp labels.tsv g_lab.tsv
    mm-convert g_img.tsv -o g_img.mmf; mm-convert g_txt.tsv -o g_txt.mmf
    for f in none concat gated; do
        ins="g_img.mmf g_txt.mmf"; tsv="g_img.tsv g_txt.tsv"
        [ "$f" = none ] && ins=g_img.mmf && tsv=g_img.tsv
        # --lr 0: the seeded initial weights, the starting point of both trainers
        mm-train --fusion "$f" --hidden 32 --dropout 0 --lr 0 --epochs 1 --labels g_lab.tsv -o "init_$f" $ins
        mm-train --fusion "$f" --hidden 32 --dropout 0 --lr 0.01 --weight-decay 0.01 --warmup 1 --epochs 10 -b 12 \
            --no-shuffle --init "init_$f" --step-log "steps_$f.txt" --labels g_lab.tsv -o "out_$f" $ins
        [ "$(wc -l < "steps_$f.txt")" -eq 50 ]
        run "$MM_PYTHON" "$MM_REPO/tests/golden/train_torch.py" "init_$f" "out_$f" "steps_$f.txt" g_lab.tsv \
            0.01 0.01 5 50 12 $tsv
        echo "$output" >&2
        assert_status 0
    done
}

@test "golden: attention (2 pre-LN layers, 4 heads) against PyTorch's TransformerEncoder: 50 steps, losses and parameters to 1e-4" {
    "$MM_PYTHON" -c 'import torch' 2> /dev/null || skip "python3-torch not installed"
    arch="--fusion attention --width 16 --layers 2 --heads 4 --dropout 0"
    mm-train $arch --lr 0 --epochs 1 --labels labels.tsv -o init_att img.mmf txt.mmf
    # lr 0.003: at 0.01 the 50 steps overfit the 60 items until some
    # gradients are rounding noise, which Adam's normalised step amplifies
    # alike in both trainers (a layer-norm bias then differs by 1.2e-4
    # relative, 8e-7 absolute)
    mm-train $arch --lr 0.003 --weight-decay 0.01 --warmup 1 --epochs 10 -b 12 --no-shuffle --init init_att \
        --step-log steps_att.txt --labels labels.tsv -o out_att img.mmf txt.mmf
    [ "$(wc -l < steps_att.txt)" -eq 50 ]
    run "$MM_PYTHON" "$MM_REPO/tests/golden/train_torch.py" init_att out_att steps_att.txt labels.tsv \
        0.003 0.01 5 50 12 img.tsv txt.tsv
    echo "$output" >&2
    assert_status 0
}

@test "attention: trains, and scripts/head.py gives mm-predict's probabilities" {
    "$MM_PYTHON" -c 'import torch' 2> /dev/null || skip "python3-torch not installed"
    mm-train --fusion attention --width 32 --labels labels.tsv --epochs 30 --lr 0.003 --seed 2 -o ha img.mmf txt.mmf
    grep -q '"fusion": "attention"' ha/config.json
    grep -q '"layers": 2' ha/config.json
    mm-predict --head ha -k 0 img.mmf txt.mmf > run.trec
    run "$MM_PYTHON" "$MM_REPO/scripts/head.py" --check run.trec ha img.tsv txt.tsv
    assert_status 0
    mm-predict --head ha -k 1 img.mmf txt.mmf > top1.trec
    acc=$(mm-eval -m zeroshot labels.qrels top1.trec | awk '$1 == "acc@1" {print $3}')
    awk -v a="$acc" 'BEGIN { exit !(a >= 0.9) }'
}

@test "attention: --heads must divide the width; a bad layer count is a usage error" {
    run mm-train --fusion attention --width 30 --heads 4 --labels labels.tsv -o h img.mmf txt.mmf
    assert_status 2
    assert_output_contains "--heads 4 does not divide the width 30"
    run mm-train --fusion attention --layers 0 --labels labels.tsv -o h img.mmf txt.mmf
    assert_status 2
    [ ! -e h ]
}

@test "-t: the same seed and data give the same head bit for bit, 1 vs 1, 2 vs 2, and 1 vs 2 threads" {
    # large enough that every product is split between the threads
    # (nn/layers.c runs a product below 2^17 multiply-adds on one thread)
    "$MM_PYTHON" - << 'EOF2'
import random
random.seed(5)
with open("bi.tsv", "w") as f, open("bt.tsv", "w") as g, open("bl.tsv", "w") as l:
    for i in range(600):
        c = i % 5
        f.write("b%03d\t" % i + " ".join("%.4f" % ((1 if j == c else 0) + random.gauss(0, 1)) for j in range(40)) + "\n")
        g.write("b%03d\t" % i + " ".join("%.4f" % ((1 if j == c else 0) + random.gauss(0, 1)) for j in range(24)) + "\n")
        l.write("b%03d\tc%d\n" % (i, c))
EOF2
    mm-convert bi.tsv -o bi.mmf; mm-convert bt.tsv -o bt.mmf
    for f in concat gated attention; do
        for t in 1 1 2 2; do
            mm-train -t $t --fusion "$f" --hidden 64 --dropout 0.1 --labels bl.tsv --epochs 2 -b 128 --seed 4 \
                -o "h_${f}_$t" bi.mmf bt.mmf
            cat "h_${f}_$t/model.safetensors" | cksum >> "sums_$f"
        done
        [ "$(sort -u "sums_$f" | wc -l)" -eq 1 ]
    done
}

@test "gated: trains, and scripts/head.py gives mm-predict's probabilities" {
    "$MM_PYTHON" -c 'import torch' 2> /dev/null || skip "python3-torch not installed"
    mm-train --fusion gated --labels labels.tsv --epochs 30 --lr 0.01 --seed 2 -o hg img.mmf txt.mmf
    grep -q '"fusion": "gated"' hg/config.json
    mm-predict --head hg -k 0 img.mmf txt.mmf > run.trec
    run "$MM_PYTHON" "$MM_REPO/scripts/head.py" --check run.trec hg img.tsv txt.tsv
    assert_status 0
    mm-predict --head hg -k 1 img.mmf txt.mmf > top1.trec
    acc=$(mm-eval -m zeroshot labels.qrels top1.trec | awk '$1 == "acc@1" {print $3}')
    awk -v a="$acc" 'BEGIN { exit !(a >= 0.9) }'
}

@test "--init: a head of another shape is refused naming it" {
    mm-train --labels labels.tsv --epochs 1 --hidden 16 -o h16 img.mmf txt.mmf
    run --separate-stderr mm-train --labels labels.tsv --epochs 1 --hidden 32 --init h16 -o h32 img.mmf txt.mmf
    assert_status 1
    [[ "$stderr" == *"h16/config.json: --init: its architecture, dims or classes differ"* ]]
    [ ! -e h32 ]
}
