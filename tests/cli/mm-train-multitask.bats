#!/usr/bin/env bats
# mm-train --task NAME:KIND:LABELS[:WEIGHT] (a multi-task head: one output
# layer per task on one fusion module) and mm-predict -T NAME: the forms,
# the per-task log, masking of items without a task's label, bad input
# (message, status, nothing left behind), seed/thread reproducibility, and
# the golden test of two tasks against PyTorch (scripts/head.py's module).
load common
bats_require_minimum_version 1.5.0

setup() {
    cd "$BATS_TEST_TMPDIR" || return 1
    # the data of mm-train.bats: 3 classes, 60 items; image features near one
    # axis per class, text noisy; a value per item for 2 items in 3 (the
    # others have none: masked), and tags (multilabel) for 3 items in 4
    "$MM_PYTHON" - << 'EOF2'
import random
random.seed(3)
with open("img.tsv", "w") as f, open("txt.tsv", "w") as g, open("labels.tsv", "w") as l, \
        open("values.tsv", "w") as v, open("tags.tsv", "w") as t:
    for i in range(60):
        c = i % 3
        f.write("it%02d\t" % i + " ".join("%.4f" % ((2 if j == c else 0) + random.gauss(0, 0.5)) for j in range(6)) + "\n")
        g.write("it%02d\t" % i + " ".join("%.4f" % ((1 if j == c else 0) + random.gauss(0, 1)) for j in range(4)) + "\n")
        l.write("it%02d\t%s\n" % (i, "abc"[c]))
        if i % 3 != 2:
            v.write("it%02d\t%.3f\n" % (i, c + 0.5 + random.gauss(0, 0.1)))
        if i % 4 != 1:
            t.write("it%02d\t%s\n" % (i, "xy"[c % 2]))
            if c == 2:
                t.write("it%02d\tz\n" % i)
EOF2
    mm-convert img.tsv -o img.mmf
    mm-convert txt.tsv -o txt.mmf
    awk '{print $1, 0, $2, 1}' labels.tsv > labels.qrels
    TASKS="--task cat:classification:labels.tsv --task value:regression:values.tsv:0.5"
}

no_tmp() { [ -z "$(ls -a | grep '\.tmp\.')" ]; }

@test "two tasks on one fusion module: config.json lists them, heads.NAME.* tensors, mm-predict -T each" {
    run mm-train $TASKS --epochs 40 --lr 0.01 --seed 1 -o mt img.mmf txt.mmf
    assert_status 0
    "$MM_PYTHON" - << 'EOF2'
import json, struct
c = json.load(open("mt/config.json"))
assert "task" not in c and "classes" not in c, c
assert [(t["name"], t["kind"], t["classes"], t["weight"]) for t in c["tasks"]] == \
    [("cat", "classification", ["a", "b", "c"], 1.0), ("value", "regression", ["value"], 0.5)], c["tasks"]
assert c["recipe"]["task"] == "multitask" and c["recipe"]["select"] == "cat:acc", c["recipe"]
data = open("mt/model.safetensors", "rb").read()
(n,) = struct.unpack("<Q", data[:8])
h = json.loads(data[8:8 + n])
assert h["heads.cat.weight"]["shape"] == [3, 512] and h["heads.cat.bias"]["shape"] == [3], h
assert h["heads.value.weight"]["shape"] == [1, 512] and h["heads.value.bias"]["shape"] == [1], h
assert "out.weight" not in h and "fc.weight" in h, h
EOF2
    mm-predict --head mt -T cat -k 2 img.mmf txt.mmf > cat.trec
    [ "$(wc -l < cat.trec)" -eq 120 ]
    acc=$(mm-eval -m zeroshot labels.qrels cat.trec | awk '$1 == "acc@1" {print $3}')
    awk -v a="$acc" 'BEGIN { exit !(a >= 0.9) }'
    # the default task is the first
    mm-predict --head mt -k 2 img.mmf txt.mmf | cmp - cat.trec
    mm-predict --head mt --task value -o value.tsv img.mmf txt.mmf
    [ "$(wc -l < value.tsv)" -eq 60 ]
    # regression learnt on the items that have a value: mean |error| well below the spread (1)
    awk -F'\t' 'NR == FNR { v[$1] = $2; next } ($1 in v) { d = $2 - v[$1]; s += d < 0 ? -d : d; n++ }
                END { exit !(n == 40 && s / n < 0.3) }' values.tsv value.tsv
    no_tmp
}

@test "single-task forms are unchanged: --labels and --task KIND --labels write a head of today's form" {
    mm-train --labels labels.tsv --epochs 2 --seed 2 -o h1 img.mmf txt.mmf
    mm-train --task classification --labels labels.tsv --epochs 2 --seed 2 -o h2 img.mmf txt.mmf
    cmp h1/model.safetensors h2/model.safetensors
    cmp h1/config.json h2/config.json
    grep -q '"task": "classification"' h1/config.json
    grep -q '"classes": \[' h1/config.json
    ! grep -q '"tasks"' h1/config.json
    grep -q '"out.weight"' h1/model.safetensors
    ! grep -q 'heads\.' h1/model.safetensors
    # -T on a head without task names is an error naming the head
    run --separate-stderr mm-predict --head h1 -T cat -o out.trec img.mmf txt.mmf
    assert_status 1
    [[ "$stderr" == *"h1/config.json: --task cat: this head has one task (classification) and no task names"* ]]
    [ ! -e out.trec ]
}

@test "a named task alone, three tasks, classification + multilabel: every kind trains and predicts" {
    run mm-train --task cat:classification:labels.qrels --fusion none --epochs 20 --lr 0.05 -o one img.mmf
    assert_status 0
    grep -q '"name": "cat"' one/config.json
    mm-predict --head one img.mmf | head -1 | grep -Eq '^it00 Q0 [abc] 1 [0-9.e-]+ mm-predict$'
    run mm-train $TASKS --task tags:multilabel:tags.tsv:2 --fusion gated --hidden 16 --epochs 3 -o three img.mmf txt.mmf
    assert_status 0
    mm-predict --head three -T tags -k 0 img.mmf txt.mmf > tags.trec
    [ "$(wc -l < tags.trec)" -eq 180 ]
    [ "$(awk '{print $3}' tags.trec | sort -u | tr '\n' ' ')" = "x y z " ]
}

@test "--log: one JSON line per epoch, the total and each task's train loss and validation measures" {
    run mm-train $TASKS --val-split 0.25 --epochs 3 --log log.jsonl --progress -o mt img.mmf txt.mmf
    assert_status 0
    # the progress line shows each task's loss
    [[ "$output" == *"epoch "*"/3: train loss "*" (cat "*", value "*"), val cat acc "* ]]
    [ "$(wc -l < log.jsonl)" -eq 3 ]
    "$MM_PYTHON" -c '
import json
for i, l in enumerate(open("log.jsonl")):
    o = json.loads(l)
    assert o["epoch"] == i + 1 and o["task"] == "multitask", o
    assert o["cat.train_loss"] > 0 and o["value.train_loss"] > 0, o
    assert abs(o["train_loss"] - (o["cat.train_loss"] + 0.5 * o["value.train_loss"])) < 0.05 * o["train_loss"], o
    assert 0 <= o["cat.val_acc"] <= 1 and 0 <= o["cat.val_bacc"] <= 1 and o["cat.val_loss"] > 0, o
    assert o["value.val_loss"] > 0 and o["value.val_mae"] > 0, o
    assert isinstance(o["best"], bool), o
'
    # --select NAME:MEASURE picks another task's measure
    run mm-train $TASKS --val-split 0.25 --epochs 2 --select value:mae -o mt2 img.mmf txt.mmf
    assert_status 0
    grep -q '"select": "value:mae"' mt2/config.json
    # --val FILE: the items it names validate, their targets from the tasks' labels
    head -12 labels.tsv > val.tsv
    run mm-train $TASKS --val val.tsv --epochs 2 --log log2.jsonl -o mt3 img.mmf txt.mmf
    assert_status 0
    grep -q '"train_items": 48' mt3/config.json
    grep -q '"val_items": 12' mt3/config.json
    grep -q '"value.val_mae":' log2.jsonl
}

@test "--missing: an item with no label of any task is an error (skip ignores it); a missing label of one task is masked" {
    # no cat label for the items i % 3 == 0, which all have a value: masked out of cat's loss
    awk 'NR % 3 != 1' labels.tsv > cat_part.tsv
    run mm-train --task cat:classification:cat_part.tsv --task value:regression:values.tsv --epochs 1 -o ok \
        img.mmf txt.mmf
    assert_status 0
    # items 50..59 have no cat label and some no value either: it50 (50 % 3 == 2) has neither
    head -50 labels.tsv > cat50.tsv
    run --separate-stderr mm-train --task cat:classification:cat50.tsv --task v:regression:values.tsv --epochs 1 \
        -o bad img.mmf txt.mmf
    assert_status 1
    [[ "$stderr" == *"img.mmf: id it50 has no label in any task's labels (--missing skip ignores it)"* ]]
    # one task alone: rows without its label are items without any label
    run --separate-stderr mm-train --task cat:classification:cat50.tsv --epochs 1 -o bad img.mmf txt.mmf
    assert_status 1
    [[ "$stderr" == *"img.mmf: id it50 has no label in any task's labels (--missing skip ignores it)"* ]]
    [ ! -e bad ]
    no_tmp
    run --separate-stderr mm-train --task cat:classification:cat50.tsv --missing skip --epochs 1 -o skipped img.mmf txt.mmf
    assert_status 0
    [[ "$stderr" == *"skipped 0 label(s) without features and 10 item(s) without a label of any task"* ]]
    # a label whose id has no features: error, or skipped with --missing skip
    { cat values.tsv; printf 'zz99\t1.5\n'; } > values_extra.tsv
    run --separate-stderr mm-train --task cat:classification:labels.tsv --task value:regression:values_extra.tsv \
        --epochs 1 -o bad img.mmf txt.mmf
    assert_status 1
    [[ "$stderr" == *"values_extra.tsv:41: id zz99 has no features in img.mmf"* ]]
    [ ! -e bad ]
}

@test "bad --task specs, duplicate names, bad weights: usage errors (status 2), no head written" {
    bad() { # expected-message args...
        local msg=$1; shift
        run --separate-stderr mm-train "$@" -o bad img.mmf txt.mmf
        assert_status 2
        [[ "$stderr" == *"$msg"* ]] || { echo "stderr: $stderr" >&2; return 1; }
        [ ! -e bad ]
        no_tmp
    }
    bad "--task 'cat:classification:labels.tsv': the task name 'cat' is already taken" \
        --task cat:classification:labels.tsv --task cat:classification:labels.tsv
    bad "--task 'v:regression:values.tsv:abc': weight 'abc' is not a number in (0, 1e6]" \
        --task cat:classification:labels.tsv --task v:regression:values.tsv:abc
    bad "weight '0' is not a number in (0, 1e6]" --task v:regression:values.tsv:0
    bad "weight '-1' is not a number in (0, 1e6]" --task v:regression:values.tsv:-1
    bad "weight 'nan' is not a number in (0, 1e6]" --task v:regression:values.tsv:nan
    bad "weight '' is not a number in (0, 1e6]" --task v:regression:values.tsv:
    bad "--task 'cat:classification': expected NAME:KIND:LABELS[:WEIGHT]" --task cat:classification
    bad "--task 'a:b:c:1:2': expected NAME:KIND:LABELS[:WEIGHT]" --task a:b:c:1:2
    bad "the name is not 1 to 31 of A-Z a-z 0-9 _ -" --task c.a.t:classification:labels.tsv
    bad "the name is not 1 to 31 of A-Z a-z 0-9 _ -" --task "$(printf 'n%.0s' {1..32}):classification:labels.tsv"
    bad "kind 'pair': a named task is classification, multilabel or regression" --task p:pair:labels.tsv
    bad "kind 'clasification': a named task is classification, multilabel or regression" \
        --task p:clasification:labels.tsv
    bad "--labels goes with --task KIND" --labels labels.tsv --task cat:classification:labels.tsv
    bad "exclude each other" --task multilabel --task cat:classification:labels.tsv
    bad "--select 'nope:acc': no task of that name" $TASKS --select nope:acc
    bad "--select: 'acc' is not a measure of regression (loss, mae)" $TASKS --select value:acc
    bad "--shots is for single-label classification" $TASKS --shots 2
}

@test "a task with no labelled training item, a single class: errors naming the labels file (status 1), no head" {
    printf 'zz01\t1.5\nzz02\t2.5\n' > nowhere.tsv
    run --separate-stderr mm-train --task cat:classification:labels.tsv --task value:regression:nowhere.tsv \
        --missing skip -o bad img.mmf txt.mmf
    assert_status 1
    [[ "$stderr" == *"nowhere.tsv: task value: none of the 60 training items has a label in it"* ]]
    [ ! -e bad ]
    # every value on a validation item: none left to train on
    head -12 labels.tsv > val.tsv
    head -8 values.tsv > values_val.tsv
    run --separate-stderr mm-train --task cat:classification:labels.tsv --task value:regression:values_val.tsv \
        --val val.tsv -o bad img.mmf txt.mmf
    assert_status 1
    [[ "$stderr" == *"values_val.tsv: task value: none of the 48 training items has a label in it"* ]]
    # the selecting task without a validation item
    awk -F'\t' 'substr($1, 3) + 0 >= 12' values.tsv > values_tr.tsv
    run --separate-stderr mm-train --task cat:classification:labels.tsv --task value:regression:values_tr.tsv \
        --val val.tsv --select value:loss -o bad img.mmf txt.mmf
    assert_status 1
    [[ "$stderr" == *"values_tr.tsv: task value: none of the 12 validation items has a label in it"* ]]
    awk '{print $1 "\ta"}' labels.tsv > one.tsv
    run --separate-stderr mm-train --task cat:classification:one.tsv --task value:regression:values.tsv -o bad \
        img.mmf txt.mmf
    assert_status 1
    [[ "$stderr" == *"one.tsv: task cat: a single class ('a'): nothing to learn"* ]]
    [ ! -e bad ]
    no_tmp
}

@test "mm-predict -T: an unknown task name is an error listing the head's tasks; nothing written" {
    mm-train $TASKS --epochs 1 -o mt img.mmf txt.mmf
    echo old > out.trec
    run --separate-stderr mm-predict --head mt -T nope -o out.trec img.mmf txt.mmf
    assert_status 1
    [[ "$stderr" == *"mt/config.json: --task nope: no such task (the head's tasks: cat, value)"* ]]
    [ "$(cat out.trec)" = old ]
    # --labels is checked against the chosen task's classes
    run --separate-stderr mm-predict --head mt -T value --labels labels.tsv img.mmf txt.mmf
    assert_status 2
    [[ "$stderr" == *"--labels is for classification and multilabel heads"* ]]
    mm-predict --head mt -T cat --labels labels.tsv -k 1 img.mmf txt.mmf > /dev/null
}

@test "the multi-task head loader rejects a corrupt config: repeated names, tasks beside classes, bad weight, tensor count" {
    mm-train $TASKS --epochs 1 --hidden 8 -o mt img.mmf txt.mmf
    corrupt() { # sed-expression expected-message
        rm -rf hb; cp -r mt hb
        "$MM_PYTHON" -c "$1" hb/config.json
        run --separate-stderr mm-predict --head hb img.mmf txt.mmf
        assert_status 1
        [[ "$stderr" == *"$2"* ]] || { echo "stderr: $stderr" >&2; return 1; }
    }
    py() { echo "import json, sys; p = sys.argv[1]; c = json.load(open(p)); $1; json.dump(c, open(p, 'w'))"; }
    corrupt "$(py 'c["tasks"][1]["name"] = "cat"')" 'hb/config.json: task 2: name "cat" repeats task 1'
    corrupt "$(py 'c["classes"] = ["a"]')" '"tasks": expected an array, in place of "task" and "classes"'
    corrupt "$(py 'c["tasks"][1]["weight"] = -2')" "hb/config.json: task value: weight -2 not in (0, 1e6]"
    corrupt "$(py 'c["tasks"][1]["kind"] = "pair"')" "task value: kind pair (a multi-task head has classification"
    corrupt "$(py 'c["tasks"][0]["name"] = "a.b"')" 'hb/config.json: tasks[0]: "name": not 1 to 31 of'
    corrupt "$(py 'c["tasks"][0]["classes"].append("d")')" 'tensor "heads.cat.weight": expected F32 [4, 8]'
    corrupt "$(py 'c["tasks"].pop()')" "hb/model.safetensors: 6 tensors, the concat head of hb/config.json has 4"
    corrupt "$(py 'del c["tasks"][0]["weight"]')" 'hb/config.json: tasks[0]: "weight": missing, expected a number'
    corrupt "$(py 'c["tasks"] = []')" "hb/config.json: 0 tasks (1 to 8)"
    corrupt "$(py 'c["tasks"][0]["classes"][2] = "a"')" 'hb/config.json: tasks[0].classes[2]: "a" repeats tasks[0].classes[0]'
    corrupt "$(py 'c["tasks"][1]["classes"][0] = 7')" 'hb/config.json: tasks[1].classes[0]: expected a non-empty string'
    # the same class name in two tasks is fine (each task has its own outputs)
    rm -rf hb; cp -r mt hb
    "$MM_PYTHON" -c "$(py 'c["tasks"][1]["classes"][0] = "a"')" hb/config.json
    mm-predict --head hb -T value img.mmf txt.mmf > /dev/null
}

@test "the same seed, data and -t give the same multi-task head bit for bit (-t 1 and -t 2)" {
    for t in 1 2; do
        mm-train $TASKS --fusion attention --width 16 --epochs 3 -b 8 --val-split 0.2 --seed 5 -t $t -o "a$t" img.mmf txt.mmf
        mm-train $TASKS --fusion attention --width 16 --epochs 3 -b 8 --val-split 0.2 --seed 5 -t $t -o "b$t" img.mmf txt.mmf
        cmp "a$t/model.safetensors" "b$t/model.safetensors"
        cmp "a$t/config.json" "b$t/config.json"
    done
    # and, as for single-task heads, -t does not change the bits
    cmp a1/model.safetensors a2/model.safetensors
    mm-train $TASKS --fusion attention --width 16 --epochs 3 -b 8 --val-split 0.2 --seed 6 -o c1 img.mmf txt.mmf
    ! cmp -s a1/model.safetensors c1/model.safetensors
}

@test "scripts/head.py loads a multi-task head (task argument) and gives mm-predict's outputs for each task" {
    "$MM_PYTHON" -c 'import torch' 2> /dev/null || skip "python3-torch not installed"
    for f in concat gated attention; do
        mm-train $TASKS --task tags:multilabel:tags.tsv --fusion "$f" --hidden 16 --width 16 --epochs 3 -b 8 \
            -o "m$f" img.mmf txt.mmf
        for t in cat value tags; do
            mm-predict --head "m$f" -T "$t" -k 0 img.mmf txt.mmf > "r$t.trec"
            run "$MM_PYTHON" "$MM_REPO/scripts/head.py" --check "r$t.trec" "m$f" --task "$t" img.tsv txt.tsv
            echo "$f $t: $output" >&2
            assert_status 0
        done
    done
    mm-train --task cat:classification:labels.tsv --fusion none --epochs 3 -o mnone img.mmf
    mm-predict --head mnone -k 0 img.mmf > rnone.trec
    run "$MM_PYTHON" "$MM_REPO/scripts/head.py" --check rnone.trec mnone img.tsv
    assert_status 0
}

@test "golden: two tasks (classification + regression with masked items; classification + multilabel) against PyTorch: 50 steps, losses and parameters to 1e-4" {
    "$MM_PYTHON" -c 'import torch' 2> /dev/null || skip "python3-torch not installed"
    golden() { # fusion lr mm-train-tasks torch-tasks -- inputs (mmf then tsv)
        local f=$1 lr=$2 tasks=$3 mt=$4 ins=$5 tsv=$6
        local arch="--fusion $f --hidden 16 --width 16 --layers 2 --heads 4 --dropout 0"
        mm-train $arch --lr 0 --epochs 1 $tasks -o "init_$f" $ins
        mm-train $arch --lr "$lr" --weight-decay 0.01 --warmup 1 --epochs 10 -b 12 --no-shuffle --init "init_$f" \
            --step-log "steps_$f.txt" $tasks -o "out_$f" $ins
        [ "$(wc -l < "steps_$f.txt")" -eq 50 ]
        run "$MM_PYTHON" "$MM_REPO/tests/golden/train_torch.py" $mt "init_$f" "out_$f" "steps_$f.txt" - "$lr" 0.01 5 50 12 $tsv
        echo "$f: $output" >&2
        assert_status 0
    }
    cr="--task cat:classification:labels.tsv --task value:regression:values.tsv:0.5"
    tcr="--mt cat:classification:labels.tsv --mt value:regression:values.tsv:0.5"
    golden concat 0.01 "$cr" "$tcr" "img.mmf txt.mmf" "img.tsv txt.tsv"
    golden none 0.01 "$cr" "$tcr" img.mmf img.tsv
    golden gated 0.01 "$cr" "$tcr" "img.mmf txt.mmf" "img.tsv txt.tsv"
    # attention at the lr of its single-task golden test (mm-train.bats says why)
    golden attention 0.003 "$cr" "$tcr" "img.mmf txt.mmf" "img.tsv txt.tsv"
    cm="--task cat:classification:labels.tsv:2 --task tags:multilabel:tags.tsv:0.25"
    tcm="--mt cat:classification:labels.tsv:2 --mt tags:multilabel:tags.tsv:0.25"
    golden concat 0.01 "$cm" "$tcm" "img.mmf txt.mmf" "img.tsv txt.tsv"
}
