"""Image corpus import costs (a script, not a test): checking images, finding near-duplicates,
refusing bombs.

1. **Checking**: ``--images`` PNGs of ``--side`` × ``--side`` random pixels (incompressible),
   each checked as an import checks it (:func:`mosu.evals.images.check_image`), hashed
   (dHash, aHash) and thumbnailed. The physical limit is decoding the image alone (Pillow's
   ``open`` + ``load``): the ratio says what the checks add to the decode every import needs.
2. **Near-duplicates**: ``--hashes`` random 64-bit perceptual hashes with 100 planted
   near-copies (1–4 bits flipped), found by :func:`mosu.corpus.image_checks.near_duplicate_pairs`
   (bands) against the brute force of comparing every pair with numpy (timed on a slice of
   ``--brute`` hashes and scaled by the square of the sizes).
3. **Bombs**, each in a fresh process, peak RSS (``ru_maxrss``) over the process's own at
   start: a zip member of ``--zeros-mib`` MiB of zeros, and a PNG declaring 50,000 × 50,000
   pixels. Both must be refused.

    python bench/image_corpus.py
    python bench/image_corpus.py --images 200 --side 512 --hashes 200000
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mosu.corpus.image_checks import (  # noqa: E402
    Hashes,
    derive,
    near_duplicate_pairs,
)
from mosu.evals.images import check_image  # noqa: E402

BOMB = """
import io, resource, sys, zipfile
sys.path.insert(0, {root!r})
from mosu.core.limits import ReadLimits
from mosu.corpus.image_zip import read_image_zip
from mosu.evals.images import ImageError, check_image
from mosu.registry.sheets import FileProblem
from tests.helpers.images import pixel_bomb
kind = {kind!r}
if kind == "zip":
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("m.jsonl", b'{{"id": "a", "image": "a.png"}}')
        with archive.open("a.png", "w", force_zip64=True) as member:
            block = bytes(1 << 20)
            for _ in range({mib}):
                member.write(block)
    data, size = buffer.getvalue(), len(buffer.getvalue())
else:
    data = pixel_bomb()
    size = len(data)
start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    if kind == "zip":
        read_image_zip(data, "bomb.zip", ReadLimits(unpacked_bytes=5 * 1024 ** 3))
    else:
        check_image(data, where="bomb.png")
    outcome = "ACCEPTED"
except (FileProblem, ImageError) as exc:
    outcome = "refused: " + str(exc)[-60:]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(size, max(0, peak - start) // 1024, outcome)
"""


def _pngs(count: int, side: int) -> list[bytes]:
    from PIL import Image

    rng = np.random.default_rng(1)
    out = []
    for _ in range(count):
        pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "PNG")
        out.append(buffer.getvalue())
    return out


def bench_checks(count: int, side: int) -> None:
    from PIL import Image

    images = _pngs(count, side)
    started = time.process_time()
    for data in images:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    decode = (time.process_time() - started) / count
    started = time.process_time()
    for data in images:
        derive(check_image(data))
    full = (time.process_time() - started) / count
    size = sum(map(len, images)) / count / 1024
    print(f"\n1. checking {count} PNGs of {side}×{side} ({size:.0f} KiB each), CPU ms per image")
    print("| step | ms/image | × decode alone |\n|---|---|---|")
    print(f"| decode alone (limit) | {decode * 1000:.2f} | 1.00 |")
    print(f"| check + dHash/aHash + thumbnail | {full * 1000:.2f} | {full / decode:.2f} |")


def bench_duplicates(count: int, brute: int) -> None:
    rng = np.random.default_rng(2)
    values = rng.integers(0, 2**63, count, dtype=np.uint64).tolist()
    averages = rng.integers(0, 2**63, count, dtype=np.uint64).tolist()
    for k in range(100):
        flips = [int(b) for b in rng.choice(64, int(rng.integers(1, 5)), replace=False)]
        mask = sum(1 << b for b in flips)
        values.append(values[k] ^ mask)
        averages.append(averages[k])
    hashes = [Hashes(int(d), int(a)) for d, a in zip(values, averages, strict=True)]
    started = time.process_time()
    found = near_duplicate_pairs(hashes)
    banded = time.process_time() - started
    array = np.array(values[:brute], dtype=np.uint64)
    started = time.process_time()
    for i in range(brute - 1):
        bits = np.unpackbits((array[i + 1 :] ^ array[i]).view(np.uint8).reshape(-1, 8), axis=1)
        bits.sum(axis=1)
    slice_seconds = time.process_time() - started
    total = count + 100
    scaled = slice_seconds * (total / brute) ** 2
    print(f"\n2. near-duplicates among {total:,} hashes (100 planted), CPU seconds")
    print("| method | seconds | found planted | × bands |\n|---|---|---|---|")
    planted = sum(1 for i, j, _ in found if j >= count and i == j - count)
    print(f"| bands (mosu) | {banded:.2f} | {planted}/100 | 1.0 |")
    print(
        f"| all pairs, numpy (scaled from {brute:,}) | {scaled:.0f} | — | {scaled / banded:.0f} |"
    )


def bench_bombs(zeros_mib: int) -> None:
    print("\n3. bombs, each in a fresh process")
    print("| bomb | bytes sent | peak RSS added (MiB) | outcome |\n|---|---|---|---|")
    for kind, name in (("zip", f"zip member of {zeros_mib} MiB of zeros"), ("png", "50,000² PNG")):
        code = BOMB.format(root=str(ROOT), kind=kind, mib=zeros_mib)
        answer = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split(maxsplit=2)
        print(f"| {name} | {int(answer[0]):,} | {answer[1]} | {answer[2].strip()} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--hashes", type=int, default=100_000)
    parser.add_argument("--brute", type=int, default=5_000)
    parser.add_argument("--zeros-mib", type=int, default=512)
    args = parser.parse_args()
    print("load average at start: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    bench_checks(args.images, args.side)
    bench_duplicates(args.hashes, args.brute)
    bench_bombs(args.zeros_mib)


if __name__ == "__main__":
    main()
