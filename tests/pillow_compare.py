#!/usr/bin/python3
"""Compare mm-embed-image with Pillow (+ the Hugging Face CLIPImageProcessor
steps re-done in NumPy, slow/PIL path) on every image of a directory.

    tests/pillow_compare.py [--formats formats.tsv] [--generated] IMAGE_DIR

Checks, for every image:
  * decode: mm-embed-image with a preprocessor_config.json that turns resize and
    crop off dumps the decoded RGB (--dump-pixels-uint8); it must equal Pillow's
    Image.open(p).convert("RGB") exactly. 16-bit PNGs are compared with
    round(v/257) of the 16-bit samples instead (Pillow keeps the high byte of
    RGB/RGBA and clips 16-bit grey to 255; see lib/image/image.h).
  * preprocess: --dump-pixels with CLIP defaults must equal hf_pixel_values()
    exactly (images whose Pillow decode is what HF sees, i.e. not 16-bit grey).
--generated also writes JPEG/PNG variants with Pillow (4:4:4, 4:2:2, 4:2:0,
progressive, grey, CMYK, grey+alpha, 1-bit, 4-bit palette, 16-bit grey, EXIF
orientations 1..8) into a temporary directory and checks them the same way,
plus --exif-rotate against PIL.ImageOps.exif_transpose.
Prints one line per failure and a summary; exit status 1 on any failure.
Uses Debian's /usr/bin/python3 (python3-numpy, python3-pil).
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image, ImageOps

OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def hf_pixel_values(img, size=224, crop=224, mean=OPENAI_CLIP_MEAN, std=OPENAI_CLIP_STD):
    """CLIPImageProcessor (PIL path) for a PIL image: convert_to_rgb, resize
    shortest edge (long side int()), Pillow BICUBIC with reducing_gap=None,
    centre crop with floor offsets, rescale in float64 -> float32, normalise
    in float32, HWC -> CHW."""
    if img.mode != "RGB":
        img = img.convert("RGB")
    w, h = img.size
    short, long_ = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long_ / short)
    nw, nh = (new_short, new_long) if w <= h else (new_long, new_short)
    arr = np.array(img.resize((nw, nh), resample=Image.BICUBIC, reducing_gap=None))
    top, left = (nh - crop) // 2, (nw - crop) // 2
    assert top >= 0 and left >= 0  # crop <= size here, so HF never pads
    arr = arr[top:top + crop, left:left + crop]
    x = (arr.astype(np.float64) * (1 / 255)).astype(np.float32)
    x = (x - np.array(mean, np.float32)) / np.array(std, np.float32)
    return x.transpose(2, 0, 1), arr


def expected_rgb(path, kind):
    """What mm-embed-image must decode: Pillow's convert("RGB"), except for
    16-bit PNGs (round(v/257) of the samples)."""
    im = Image.open(path)
    if kind.startswith("png16"):
        if im.mode in ("I", "I;16", "I;16B"):
            a = np.array(im).astype(np.int64)
            v = ((a * 255 + 32767) // 65535).astype(np.uint8)
            return np.repeat(v[:, :, None], 3, axis=2)
        # Pillow keeps only the high byte of 16-bit RGB/RGBA/LA samples, which
        # equals round(v/257) exactly when v = 257*w (true of the dev set:
        # "The 16-bit PNGs hold v*257"); tests/unit/test_image.c checks the
        # rounding on arbitrary 16-bit values.
    return np.array(im.convert("RGB"))


def run_tool(args):
    exe = os.path.join(os.environ.get("MM_BIN", os.path.join(os.path.dirname(__file__), "..", "bin")),
                       "mm-embed-image")
    r = subprocess.run([exe, "-q", "-t", "2"] + args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("mm-embed-image %s: status %d: %s" % (" ".join(args), r.returncode, r.stderr))


def stem(p):
    return os.path.splitext(os.path.basename(p))[0]


def generate(dirpath):
    """Variants Pillow can write; returns [(path, kind)]."""
    rng = np.random.default_rng(5)
    base = np.zeros((150, 211, 3), np.uint8)
    yy, xx = np.mgrid[0:150, 0:211]
    base[..., 0] = (xx * 255 // 210)
    base[..., 1] = (yy * 255 // 149)
    base[..., 2] = ((xx // 16 + yy // 16) % 2) * 200 + rng.integers(0, 50, (150, 211))
    rgb = Image.fromarray(base)
    out = []

    def add(name, kind, im, **kw):
        p = os.path.join(dirpath, name)
        im.save(p, **kw)
        out.append((p, kind))

    add("g444.jpg", "jpeg", rgb, quality=90, subsampling=0)
    add("g422.jpg", "jpeg", rgb, quality=90, subsampling=1)
    add("g420.jpg", "jpeg", rgb, quality=75, subsampling=2)
    add("gprog.jpg", "jpeg", rgb, quality=80, progressive=True)
    add("ggrey.jpg", "jpeg", rgb.convert("L"), quality=85)
    add("gcmyk.jpg", "jpeg", rgb.convert("CMYK"), quality=90)
    add("godd.jpg", "jpeg", rgb.crop((0, 0, 37, 19)), quality=90)
    add("gla.png", "png", Image.merge("LA", (rgb.convert("L"), rgb.getchannel(0))))
    add("g1bit.png", "png", rgb.convert("1"))
    add("gpal4.png", "png", rgb.convert("P", palette=Image.ADAPTIVE, colors=16), bits=4)
    pal = rgb.convert("P", palette=Image.ADAPTIVE, colors=200)
    add("gpaltrns.png", "png", pal, transparency=3)
    add("grgbtrns.png", "png", rgb, transparency=(0, 0, 0))
    add("grgba.png", "png", rgb.convert("RGBA"))
    g16 = Image.fromarray((np.array(rgb.convert("L")).astype(np.uint16) * 257 + 100).astype(np.uint16))
    add("ggrey16.png", "png16-gray", g16)
    # tiny and 1-pixel images
    add("g1x1.png", "png", rgb.crop((5, 5, 6, 6)))
    add("g1x300.jpg", "jpeg", rgb.resize((1, 300)), quality=95)
    return out


def exif_cases(dirpath):
    base = np.zeros((40, 64, 3), np.uint8)
    base[:20, :32] = (255, 0, 0)
    base[:20, 32:] = (0, 255, 0)
    base[20:, :32] = (0, 0, 255)
    base[20:, 32:] = (250, 250, 0)
    im = Image.fromarray(base)
    cases = []
    for o in range(1, 9):
        ex = Image.Exif()
        ex[0x0112] = o
        p = os.path.join(dirpath, "exif%d.jpg" % o)
        im.save(p, quality=95, exif=ex.tobytes())
        cases.append((p, o))
    return cases


def main(argv):
    formats = {}
    generated = False
    args = []
    i = 0
    while i < len(argv):
        if argv[i] == "--formats":
            for line in open(argv[i + 1]):
                f = line.rstrip("\n").split("\t")
                if len(f) >= 2:
                    formats[f[0]] = f[1]
            i += 2
        elif argv[i] == "--generated":
            generated = True
            i += 1
        else:
            args.append(argv[i])
            i += 1
    failures = []
    checked = {"decode": 0, "preprocess": 0, "exif": 0}
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for d in args:
            for n in sorted(os.listdir(d)):
                if n.lower().endswith((".jpg", ".jpeg", ".png")):
                    files.append((os.path.join(d, n), formats.get(stem(n), "png" if n.endswith(".png") else "jpeg")))
        if generated:
            gdir = os.path.join(tmp, "gen")
            os.mkdir(gdir)
            files += generate(gdir)
        listfile = os.path.join(tmp, "list.tsv")
        with open(listfile, "w") as f:
            for k, (p, _) in enumerate(files):
                f.write("i%05d\t%s\n" % (k, os.path.abspath(p)))
        nores = os.path.join(tmp, "noresize")
        os.mkdir(nores)
        with open(os.path.join(nores, "preprocessor_config.json"), "w") as f:
            json.dump({"do_resize": False, "do_center_crop": False}, f)
        run_tool(["--model", nores, "--list", listfile, "--dump-pixels-uint8", os.path.join(tmp, "dec")])
        run_tool(["--list", listfile, "--dump-pixels", os.path.join(tmp, "pv")])
        for k, (p, kind) in enumerate(files):
            name = "i%05d" % k
            got = np.load(os.path.join(tmp, "dec", name + ".npy"))
            want = expected_rgb(p, kind)
            checked["decode"] += 1
            if got.shape != want.shape or not np.array_equal(got, want):
                d = "shape %s != %s" % (got.shape, want.shape) if got.shape != want.shape else \
                    "%d values differ, max %d" % ((got != want).sum(), np.abs(got.astype(int) - want).max())
                failures.append("%s (%s): decode: %s" % (p, kind, d))
            if kind == "png16-gray":
                continue  # Pillow's own pipeline sees clipped values here
            pv = np.load(os.path.join(tmp, "pv", name + ".npy"))
            img = Image.open(p)
            if kind.startswith("png16"):
                img = Image.fromarray(want)
            want_pv, _ = hf_pixel_values(img)
            checked["preprocess"] += 1
            if not np.array_equal(pv, want_pv):
                failures.append("%s (%s): pixel_values: max |d| %g" % (p, kind, np.abs(pv - want_pv).max()))
        # EXIF orientation: ignored by default, applied with --exif-rotate
        edir = os.path.join(tmp, "exif")
        os.mkdir(edir)
        cases = exif_cases(edir) if generated else []
        if cases:
            nr = ["--model", nores]
            run_tool(nr + ["--dump-pixels-uint8", os.path.join(tmp, "ex0")] + [c[0] for c in cases])
            run_tool(nr + ["--exif-rotate", "--dump-pixels-uint8", os.path.join(tmp, "ex1")] + [c[0] for c in cases])
            for p, o in cases:
                im = Image.open(p)
                plain = np.array(im.convert("RGB"))
                rot = np.array(ImageOps.exif_transpose(im).convert("RGB"))
                g0 = np.load(os.path.join(tmp, "ex0", stem(p) + ".npy"))
                g1 = np.load(os.path.join(tmp, "ex1", stem(p) + ".npy"))
                checked["exif"] += 1
                if not np.array_equal(g0, plain):
                    failures.append("%s: orientation %d not ignored by default" % (p, o))
                if g1.shape != rot.shape or not np.array_equal(g1, rot):
                    failures.append("%s: --exif-rotate differs from exif_transpose (orientation %d)" % (p, o))
    for f in failures:
        print("FAIL", f)
    print("checked: %d decodes, %d pixel_values, %d exif cases; %d failures" %
          (checked["decode"], checked["preprocess"], checked["exif"], len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
