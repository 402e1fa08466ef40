#!/usr/bin/python3
"""Checks an mm-report page (or Chromium's --dump-dom of it) with Python's own
HTML parser: prints the counts the tests compare, and fails when something
other than the page's one script or its own elements shows up.

  check_page.py PAGE.html [--extract-jpegs DIR]   -> "svg=N polyline=N imgs=N distinct=N ..."

Thumbnails: the page holds each distinct image once, as an SVG <image> with a
JPEG data URI inside one <svg class="defs">, and shows it with <use href="#ID">
wherever it appears. imgs= counts the <use> references (and any <img>: each
must be a JPEG data URI), distinct= the <image> elements; every reference must
name one of them, and --extract-jpegs writes each distinct image once. svg=
counts the charts and heat maps only.
"""
import base64, hashlib, html.parser, os, re, sys

class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = {}
        self.imgs = []
        self.images = {}
        self.uses = []
        self.svg_charts = 0
        self.scripts = []
        self.in_script = False
        self.csp = None
        self.text = []
        self.table_rows = {}
        self.table = None
        self.stack_tables = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag == "img": self.imgs.append(a.get("src", ""))
        if tag == "image":
            if a.get("id") in self.images: sys.exit("two images with id %s" % a.get("id"))
            self.images[a.get("id")] = a.get("href", "")
        if tag == "use": self.uses.append(a.get("href", ""))
        if tag == "svg" and a.get("class") in ("chart", "heatmap"): self.svg_charts += 1
        if tag == "script":
            self.in_script = True
            self.scripts.append("")
            if "src" in a: sys.exit("script with src")
        if tag == "meta" and a.get("http-equiv", "").lower() == "content-security-policy":
            self.csp = a.get("content")
        if tag == "table":
            self.stack_tables.append(a.get("id") or a.get("class") or "")
        if tag == "tr" and self.stack_tables:
            k = self.stack_tables[-1]
            self.table_rows[k] = self.table_rows.get(k, 0) + 1
        for k, v in attrs:
            if k.startswith("on"): sys.exit("event handler attribute %s" % k)
    def handle_endtag(self, tag):
        if tag == "script": self.in_script = False
        if tag == "table" and self.stack_tables: self.stack_tables.pop()
    def handle_data(self, d):
        if self.in_script: self.scripts[-1] += d
        else: self.text.append(d)

path = sys.argv[1]
src = open(path, encoding="utf-8").read()
p = P(); p.feed(src)
if len(p.scripts) != 1: sys.exit("expected one script, found %d" % len(p.scripts))
if not p.csp: sys.exit("no CSP meta tag")
h = base64.b64encode(hashlib.sha256(p.scripts[0].encode()).digest()).decode()
if "'sha256-%s'" % h not in p.csp: sys.exit("CSP does not name the script's hash " + h)
for need in ("default-src 'none'", "img-src data:"):
    if need not in p.csp: sys.exit("CSP lacks " + need)
for s in p.imgs + list(p.images.values()):
    if not s.startswith("data:image/jpeg;base64,"): sys.exit("img not a JPEG data URI: " + s[:40])
for u in p.uses:
    if not u.startswith("#") or u[1:] not in p.images: sys.exit("<use> of a missing image: " + u)
jpegs = p.imgs + list(p.images.values())
out = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--extract-jpegs" else None
if out:
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "list.tsv"), "w") as lst:
        for i, s in enumerate(jpegs):
            b = base64.b64decode(s.split(",", 1)[1], validate=True)
            if b[:3] != b"\xff\xd8\xff": sys.exit("img %d is not a JPEG" % i)
            f = os.path.join(out, "img%05d.jpg" % i)
            open(f, "wb").write(b)
            lst.write("img%05d\t%s\n" % (i, os.path.abspath(f)))
rows = ",".join("%s:%d" % kv for kv in sorted(p.table_rows.items()))
print("svg=%d polyline=%d imgs=%d distinct=%d scripts=%d rows=%s" % (
    p.svg_charts, p.tags.get("polyline", 0), len(p.imgs) + len(p.uses), len(jpegs), len(p.scripts), rows))
print("TEXT:" + "".join(p.text).replace("\n", " "))
