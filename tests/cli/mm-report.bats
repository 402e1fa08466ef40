#!/usr/bin/env bats
# mm-report: the page's structure (summary, curves, per-query table,
# differences, gallery, classification, training), escaping of hostile
# inputs, placeholders for missing images, every bad-input path with its
# message, exit status and an untouched -o, and (when Debian's chromium is
# installed) the page rendered in a real headless browser.
load common
bats_require_minimum_version 1.5.0

CHECK="$MM_REPO/tests/cli/report/check_page.py"
DEMO="$MM_REPO/data/demo"

setup() {
    cd "$BATS_TEST_TMPDIR" || return 1
    printf 'q1 0 a 1\nq2 0 b 1\nq3 0 c 1\n' > qrels
    printf 'q1 Q0 a 1 0.9 r1\nq1 Q0 b 2 0.5 r1\nq2 Q0 a 1 0.9 r1\nq2 Q0 b 2 0.8 r1\nq3 Q0 a 1 0.7 r1\n' > r1.trec
    printf 'q1 Q0 b 1 0.9 r2\nq1 Q0 a 2 0.5 r2\nq2 Q0 b 1 0.9 r2\nq3 Q0 c 1 0.7 r2\n' > r2.trec
}

check() { "$MM_PYTHON" "$CHECK" "$@"; }

have_chromium() { command -v chromium >/dev/null 2>&1; }
chromium_run() { # the flags a container needs; no network is used by the page
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --no-first-run --user-data-dir="$BATS_TEST_TMPDIR/chrome" "$@" 2>/dev/null
}

# ---- conventions ---------------------------------------------------------------

@test "mm-report --help: usage with every flag and default on stdout; --version" {
    run --separate-stderr mm-report --help
    assert_status 0
    [ -z "$stderr" ]
    for s in "--qrels" "--texts" "--images" "--confusion" "--train-log" "--eval-json" "--gallery=HOW" \
             "default 20" "default 10" "default 0.95" "default 1000" "default 10000" "default 96" \
             "default 75" "default 2400000" "--threads" \
             "Exit status: 0 ok, 1 bad or unreadable input, 2 usage error"; do
        assert_output_contains "$s"
    done
    run mm-report --version
    assert_status 0
    assert_output_contains "mm-report (mmkit)"
}

@test "mm-report: usage errors exit 2 (no --qrels, no run, bad option values, bad -m)" {
    run mm-report r1.trec
    assert_status 2
    assert_output_contains "mm-report: --qrels FILE is required"
    run mm-report --qrels qrels
    assert_status 2
    assert_output_contains "expected at least one RUN"
    run mm-report --qrels qrels --gallery=best r1.trec
    assert_status 2
    assert_output_contains "--gallery"
    run mm-report --qrels qrels --top=0 r1.trec
    assert_status 2
    run mm-report --qrels qrels -m nosuch r1.trec
    assert_status 2
    assert_output_contains "nosuch"
}

# ---- the page --------------------------------------------------------------------

@test "mm-report: the form of issue 14 works as written; summary, curves, tables, gallery" {
    printf 'q1\tfirst caption\nq2\tsecond\nq3\tthird\n' > texts.tsv
    mkdir imgs
    "$MM_PYTHON" -c "
from PIL import Image
for n, c in (('a', (255, 0, 0)), ('b', (0, 255, 0))):
    Image.new('RGB', (300, 200), c).save('imgs/%s.jpg' % n)
Image.new('RGB', (50, 80), (0, 0, 255)).save('imgs/c.png')"
    run mm-report --qrels qrels --texts texts.tsv --images imgs -o report.html r1.trec r2.trec
    assert_status 0
    [ -z "$output" ]
    run check report.html
    assert_status 0
    # 3 charts (R@K, PR, first-rank bars), 2 lines in each line chart; 2+1 summary rows,
    # 3+1 per-query rows; gallery 3 queries: r1 shows 2+2+1, r2 1+1+1 results
    assert_output_contains "svg=3 polyline=4 imgs=9 distinct=3 scripts=1"   # a, b, c once each
    assert_output_contains "per-query-table:4"
    assert_output_contains "summary-table:3"
    assert_output_contains "first caption"
    grep -q 'p=' report.html            # paired p-values against the first run
    grep -q 'Largest differences' report.html
    mm-report --qrels qrels -k 1 -o k1.html r1.trec   # q2's relevant b is outside the top 1
    grep -q 'first relevant item at rank 2 (b)' k1.html
    grep -q 'class="it rel"' report.html
}

@test "mm-report: the summary values and intervals are mm-eval's (one implementation)" {
    run mm-report --qrels qrels -m MRR --bootstrap 200 --seed 3 -o report.html r1.trec
    assert_status 0
    mm-eval -m MRR --ci 0.95 --bootstrap 200 --seed 3 -c --format json qrels r1.trec > e.json
    want=$("$MM_PYTHON" -c "
import json; d = json.load(open('e.json'))
lo, hi = d['ci']['intervals']['MRR']
print('%.4f</span>' % 0 if False else '%.4f<br><span class=\"note\">[%.4f, %.4f]' % (d['summary']['MRR'], lo, hi))")
    grep -qF "$want" report.html
}

@test "mm-report --eval-json: mm-eval's json (one run, and --compare) under the summary; bad ones fail with file:position" {
    mm-eval -m MRR -m R.1 --ci 0.9 --bootstrap 100 -c --format json qrels r1.trec > one.json
    mm-eval --compare -m MRR --ci 0.9 --bootstrap 100 -c --format json qrels r1.trec r2.trec > cmp.json
    run mm-report --qrels qrels --eval-json one.json --eval-json cmp.json -o r.html r1.trec
    assert_status 0
    run check r.html
    assert_status 0
    assert_output_contains "evaljson:5"        # header + MRR + R@1, header + MRR
    want=$("$MM_PYTHON" -c "
import json; d = json.load(open('one.json')); lo, hi = d['ci']['intervals']['MRR']
print('<td class=\"t\">MRR</td><td>%.4f</td><td>[%.4f, %.4f]</td>' % (d['summary']['MRR'], lo, hi))")
    grep -qF "$want" r.html
    grep -qF '90% interval' r.html
    want=$("$MM_PYTHON" -c "
import json; m = json.load(open('cmp.json'))['summary']['MRR']
print('<td>%.4f</td><td>%.4f</td><td>%+.4f</td>' % (m['mean_a'], m['mean_b'], m['diff']))")
    grep -qF "$want" r.html
    grep -qF 'r2.trec against r1.trec' r.html
    echo keep > out.html
    printf '{"summary": {"MRR": 0.5,\n "x": }\n' > bad.json
    run mm-report --qrels qrels --eval-json bad.json -o out.html r1.trec
    assert_status 1
    assert_output_contains "mm-report: bad.json:2:"
    printf '{"summary": {"MRR": [1]}}' > shape.json
    run mm-report --qrels qrels --eval-json shape.json -o out.html r1.trec
    assert_status 1
    assert_output_contains "mm-report: shape.json: summary.MRR: expected a number"
    printf '[1]' > arr.json
    run mm-report --qrels qrels --eval-json arr.json -o out.html r1.trec
    assert_status 1
    assert_output_contains "arr.json: expected mm-eval --format json output"
    [ "$(cat out.html)" = keep ]
}

@test "mm-report: images that are missing or broken become a placeholder naming the path" {
    mkdir imgs
    echo "not an image" > imgs/b.jpg
    run mm-report --qrels qrels --images imgs -o report.html r1.trec
    assert_status 0
    grep -q 'missing: imgs/a.jpg' report.html
    grep -q 'imgs/b.jpg' report.html
    run check report.html
    assert_status 0
    assert_output_contains "imgs=0"
}

@test "mm-report: 200 queries x 10 distinct noisy thumbnails stay under 3 MB; repeats are embedded once" {
    # the worst case for the size: 2,000 different high-entropy images, no repeats
    "$MM_PYTHON" - <<'PY'
import os, random
import numpy as np
from PIL import Image
rng = np.random.default_rng(7); r = random.Random(7)
os.mkdir("imgs")
x = np.linspace(0, 255, 192, dtype=np.float32)[None, :, None]
y = np.linspace(0, 255, 144, dtype=np.float32)[:, None, None]
for i in range(2000):
    base = (x * rng.random(3) + y * rng.random(3)) / 2
    px = np.clip(base + rng.normal(0, 40, (144, 192, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(px).save("imgs/i%04d.jpg" % i, quality=90)
with open("sq", "w") as q, open("sr.trec", "w") as run, open("st.tsv", "w") as t, \
     open("rep.trec", "w") as rep:
    for i in range(200):
        q.write("c%03d 0 i%04d 1\n" % (i, 10 * i + r.randrange(12)))
        t.write("c%03d\ta caption for query number %d\n" % (i, i))
        for k in range(10):
            run.write("c%03d Q0 i%04d %d %.3f run\n" % (i, 10 * i + k, k + 1, 1 - k / 20))
            rep.write("c%03d Q0 i%04d %d %.3f rep\n" % (i, k, k + 1, 1 - k / 20))
PY
    run mm-report --qrels sq --texts st.tsv --images imgs --gallery-size 200 -o s.html sr.trec
    assert_status 0
    size=$(stat -c %s s.html)
    echo "page: $size bytes" >&3
    [ "$size" -lt 3000000 ]
    grep -q 'stepped down from 96 px, quality 75 to fit --thumb-budget' s.html   # the budget held it
    run check s.html
    assert_output_contains "imgs=2000 distinct=2000"
    # the same 10 images for every query: each is in the page once
    run mm-report --qrels sq --texts st.tsv --images imgs --gallery-size 200 -o rep.html rep.trec
    run check rep.html
    assert_output_contains "imgs=2000 distinct=10"
    [ "$(stat -c %s rep.html)" -lt 600000 ]
    ! grep -q 'stepped down' rep.html
    # without the budget the same 2,000 images pass 3 MB: the test can fail
    mm-report --qrels sq --texts st.tsv --images imgs --gallery-size 200 --thumb-budget 0 -o big.html sr.trec
    [ "$(stat -c %s big.html)" -gt 3000000 ]
}

@test "mm-report: image→image and image→text runs show the query's own thumbnail" {
    mkdir imgs
    "$MM_PYTHON" -c "
from PIL import Image
for n in ('q1', 'q2', 'q3', 'a', 'b', 'c'):
    Image.new('RGB', (64, 64), (10, 20, 30)).save('imgs/%s.png' % n)"
    printf 'a\ta caption\nb\tb caption\n' > texts.tsv
    run mm-report --qrels qrels --images imgs --texts texts.tsv -o i2t.html r1.trec
    assert_status 0
    run check i2t.html
    assert_output_contains "imgs=3"          # the three query images; results are texts
    assert_output_contains "b caption"
    run mm-report --qrels qrels --images imgs -o i2i.html r1.trec
    run check i2i.html
    assert_output_contains "imgs=8"          # 3 queries + 5 results
}

@test "mm-report: --gallery=random and list:FILE choose the queries; --top limits results" {
    printf 'q3\n' > list
    run mm-report --qrels qrels --gallery=list:list -o r.html r1.trec
    assert_status 0
    grep -q 'query q3' r.html
    ! grep -q 'query q1' r.html
    printf 'nope\n' > bad
    run mm-report --qrels qrels --gallery=list:bad -o r.html r1.trec
    assert_status 1
    assert_output_contains "mm-report: bad:1: query nope is not in the qrels"
    run mm-report --qrels qrels --gallery=random --gallery-size 2 --seed 5 -o a.html r1.trec
    run mm-report --qrels qrels --gallery=random --gallery-size 2 --seed 5 -o b.html r1.trec
    cmp a.html b.html
    [ "$(grep -o 'class="q"' a.html | wc -l)" -eq 2 ]
    run mm-report --qrels qrels --top 1 -o t.html r1.trec
    [ "$(grep -o 'class="it[" ]' t.html | wc -l)" -eq 3 ]   # one result for each of 3 queries
}

@test "mm-report: hostile ids and captions (<script>, quotes, &, RTL, emoji, 10 kB) stay text" {
    "$MM_PYTHON" - <<'PY'
big = "x" * 10240
ids = ['<script>alert(1)</script>', '"quoted" & \'single\'', 'שלום\u202eevil', 'emoji😀', 'img<img src=x onerror=alert(2)>']
with open("hq", "w") as q, open("hr.trec", "w") as r, open("ht.tsv", "w") as t:
    for i, d in enumerate(ids):
        q.write("%s 0 %s 1\n" % ("q%d" % i, "d%d" % i))
        r.write("%s Q0 d%d 1 1.0 <b>tag</b>\n" % ("q%d" % i, i))
        r.write("%s Q0 d%d 2 0.5 <b>tag</b>\n" % ("q%d" % i, (i + 1) % len(ids)))
        t.write("q%d\t%s %s\n" % (i, d, big if i == 0 else ""))
        t.write("d%d\t%s</div><script>alert(3)</script>\n" % (i, d))
PY
    run mm-report --qrels hq --texts ht.tsv --title '<i>title</i> & "x"' -o h.html hr.trec
    assert_status 0
    run check h.html
    assert_status 0
    assert_output_contains "scripts=1"
    assert_output_contains "<script>alert(1)</script>"     # shown as text
    assert_output_contains "<i>title</i> & \"x\""
    assert_output_contains "emoji😀"
    ! grep -q '<script>alert' h.html
    ! grep -q '<img src=x' h.html
    [ "$(stat -c %s h.html)" -lt 200000 ]                  # long captions are cut
}

@test "mm-report --confusion: heat map and per-class recall; --train-log: loss and validation curves" {
    mm-eval -m acc --confusion conf.tsv qrels r1.trec > /dev/null
    printf '{"epoch":1,"task":"t2i","train_loss":2.5,"val_R@1":0.1,"lr":0.001,"note":"x"}\n' > log
    printf '{"epoch":2,"task":"t2i","train_loss":1.5,"val_R@1":0.2,"new_field":[1]}\n\n' >> log
    printf '{"epoch":1,"task":"cls","train_loss":0.9,"val_acc":0.5}\n' >> log
    run mm-report --qrels qrels --confusion conf.tsv --train-log log -o r.html r1.trec
    assert_status 0
    grep -q 'class="heatmap"' r.html
    grep -q 'Per-class recall' r.html
    grep -q 't2i: loss' r.html
    grep -q 't2i: validation' r.html
    grep -q 'cls: loss' r.html
    run check r.html
    assert_status 0
}

@test "mm-report: a real mm-train --log, mm-predict run and mm-eval --confusion (classification end to end)" {
    "$MM_PYTHON" - << 'PY'
import random
random.seed(3)
with open("img.tsv", "w") as f, open("labels.tsv", "w") as l:
    for i in range(60):
        c = i % 3
        f.write("it%02d\t" % i + " ".join("%.4f" % ((2 if j == c else 0) + random.gauss(0, 0.5)) for j in range(6)) + "\n")
        l.write("it%02d\t%s\n" % (i, "abc"[c]))
PY
    mm-convert img.tsv -o img.mmf
    awk '{print $1, 0, $2, 1}' labels.tsv > labels.qrels
    mm-train --fusion none --labels labels.tsv --val-split 0.25 --epochs 5 --log log.jsonl -o head img.mmf
    mm-predict --head head -k 3 img.mmf > pred.trec
    mm-eval -m acc --confusion conf.tsv labels.qrels pred.trec > /dev/null
    run mm-report --qrels labels.qrels --confusion conf.tsv --train-log log.jsonl -o c.html pred.trec
    assert_status 0
    run check c.html
    assert_status 0
    grep -q 'class="heatmap"' c.html
    grep -q 'classification: loss' c.html
    grep -q 'classification: validation' c.html
    grep -q '>val_loss<' c.html      # the legends name the log's fields
    grep -q '>val_acc<' c.html
}

@test "mm-report: bad inputs exit 1 with file:line, and -o is left untouched" {
    echo keep > out.html
    printf 'q1 Q0 a 1\n' > bad.trec
    run mm-report --qrels qrels -o out.html bad.trec
    assert_status 1
    assert_output_contains "mm-report: bad.trec:1:"
    [ "$(cat out.html)" = keep ]
    printf 'q1 0 a\n' > badq
    run mm-report --qrels badq -o out.html r1.trec
    assert_status 1
    assert_output_contains "mm-report: badq:1:"
    printf 'q1\tok\nnotab\n' > t.tsv
    run mm-report --qrels qrels --texts t.tsv -o out.html r1.trec
    assert_status 1
    assert_output_contains "mm-report: t.tsv:2: expected id<TAB>text"
    printf 'true\\predicted\ta\tb\na\t1\t0\nb\t1\n' > c.tsv
    run mm-report --qrels qrels --confusion c.tsv -o out.html r1.trec
    assert_status 1
    assert_output_contains "mm-report: c.tsv:3: expected 3 fields, found 2"
    printf '{"epoch":1}\n[1,2]\n' > l
    run mm-report --qrels qrels --train-log l -o out.html r1.trec
    assert_status 1
    assert_output_contains "mm-report: l:2: expected a JSON object"
    run mm-report --qrels qrels -o out.html nosuch.trec
    assert_status 1
    assert_output_contains "nosuch.trec"
    [ "$(cat out.html)" = keep ]
    ls | grep -q tmp && return 1 || true
}

# ---- in a real browser ------------------------------------------------------------
# Chromium headless: ~2 s per page here. Skipped cleanly without chromium
# (scripts/install-deps installs it). Run alone: bats tests/cli/mm-report.bats

demo_report() { # make demo's own report, written to a temporary directory
    [ -f "$DEMO/captions.tsv" ] && [ -f "$MM_REPO/models/default/config.json" ] || skip "no demo data or model"
    THREADS=2 "$MM_REPO/scripts/demo" "$MM_REPO/models/default" "$DEMO" "$BATS_TEST_TMPDIR/demo" > demo.log 2>&1
    grep -q "report: $BATS_TEST_TMPDIR/demo/report.html" demo.log
    cp "$BATS_TEST_TMPDIR/demo/report.html" demo.html
}

@test "chromium: the demo report renders (screenshot not blank) with the right structure" {
    have_chromium || skip "chromium not installed (scripts/install-deps)"
    demo_report
    chromium_run --screenshot="$BATS_TEST_TMPDIR/shot.png" --window-size=1200,1500 \
        --hide-scrollbars "file://$BATS_TEST_TMPDIR/demo.html"
    [ -s shot.png ]
    "$MM_PYTHON" -c "
from PIL import Image
im = Image.open('shot.png').convert('RGB')
assert im.size == (1200, 1500), im.size
colors = im.getcolors(1 << 24)
white = sum(n for n, c in colors if c == (255, 255, 255))
assert len(colors) > 50 and white < 0.97 * im.size[0] * im.size[1], (len(colors), white)"
    chromium_run --dump-dom "file://$BATS_TEST_TMPDIR/demo.html" > dom.html
    run check dom.html --extract-jpegs jpegs
    assert_status 0
    # 244 queries: 244 per-query rows + header; 20 gallery queries x 10 results
    assert_output_contains "svg=3 polyline=2 imgs=200 distinct="
    assert_output_contains "per-query-table:245"
    assert_output_contains "evaljson:"          # the demo's t2i.json and i2t.json
    distinct=$(sed -n 's/.* distinct=\([0-9]*\) .*/\1/p' <<< "$output")
    [ "$distinct" -ge 1 ] && [ "$distinct" -le 200 ]
    # each embedded image is a JPEG that mmkit decodes back
    mm-embed-image --model "$MM_REPO/models/default" -t 2 --quiet --list jpegs/list.tsv -o back.mmf
    [ "$(mm-info -j back.mmf | sed 's/.*"records":\([0-9]*\).*/\1/')" -eq "$distinct" ]
    [ "$(stat -c %s shot.png)" -le 204800 ]     # small enough for the README
    # MM_REPORT_SCREENSHOT=docs/mm-report.png bats tests/cli/mm-report.bats refreshes the README's
    if [ -n "${MM_REPORT_SCREENSHOT:-}" ]; then cp shot.png "$MM_REPORT_SCREENSHOT"; fi
}

@test "chromium: thumbnails shown by <use> of the one embedded copy are drawn" {
    have_chromium || skip "chromium not installed (scripts/install-deps)"
    mkdir imgs
    "$MM_PYTHON" -c "
from PIL import Image
Image.new('RGB', (300, 200), (255, 0, 0)).save('imgs/a.jpg')
Image.new('RGB', (300, 200), (0, 0, 255)).save('imgs/b.jpg')"
    mm-report --qrels qrels --images imgs -o u.html r1.trec
    grep -c '<image id=' u.html | grep -qx 2
    chromium_run --screenshot="$BATS_TEST_TMPDIR/u.png" --window-size=1000,4000 \
        --hide-scrollbars "file://$BATS_TEST_TMPDIR/u.html"
    # a is shown 3 times (q1, q2, q3 of r1), b twice: 96x64 pixels each
    "$MM_PYTHON" -c "
from PIL import Image
px = Image.open('u.png').convert('RGB').getdata()
red = sum(1 for r, g, b in px if r > 200 and g < 60 and b < 60)
blue = sum(1 for r, g, b in px if b > 200 and r < 60 and g < 60)
assert red >= 3 * 96 * 60 and blue >= 2 * 96 * 60, (red, blue)"
}

@test "chromium: hostile inputs are not interpreted as markup; the CSP blocks remote loads" {
    have_chromium || skip "chromium not installed (scripts/install-deps)"
    "$MM_PYTHON" - <<'PY'
ids = ['<script>document.title="pwned"</script>', '<img src="http://127.0.0.1:9/x.png">', 'q"&\'', 'שלום😀']
with open("hq", "w") as q, open("hr.trec", "w") as r, open("ht.tsv", "w") as t:
    for i, d in enumerate(ids):
        q.write("q%d 0 d%d 1\n" % (i, i))
        r.write("q%d Q0 d%d 1 1.0 x\n" % (i, i))
        t.write("q%d\t%s%s\n" % (i, d, "y" * 10240))
        t.write("d%d\t<b id=\"pwn\">%s</b>\n" % (i, d))
PY
    mm-report --qrels hq --texts ht.tsv -o h.html hr.trec
    chromium_run --dump-dom "file://$BATS_TEST_TMPDIR/h.html" > dom.html
    grep -q '<title>mmkit report</title>' dom.html      # the injected script did not run
    ! grep -q 'id="pwn"' dom.html                        # no element from a caption
    run check dom.html
    assert_status 0
    assert_output_contains 'scripts=1'
    assert_output_contains '<script>document.title="pwned"</script>'
    assert_output_contains 'שלום😀'
}
