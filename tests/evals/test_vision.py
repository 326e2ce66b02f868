"""Vision-language tasks: images checked on load, sent as ``image_url`` parts, answered by
the fake server by the image's hash, so a vision race has exact expected scores."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import resource
import struct
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from mosu.evals import run
from mosu.evals.cli import app
from mosu.evals.errors import DataError, TaskError
from mosu.evals.fakeserver import (
    JUDGE_PATTERN,
    FakeConfig,
    image_key,
    load_answer_key,
    serve_in_thread,
)
from mosu.evals.images import MAX_PIXELS, ImageError, check_image, decode_data_url
from mosu.evals.tasks import parse_task
from tests.helpers.evals import answer_config

runner = CliRunner()
LABELS = ["有缺陷", "无缺陷"]


def part_png(defect: bool, mark: int) -> bytes:
    """A 16 × 16 grey part, scratched when ``defect``; ``mark`` makes each image unique."""
    image = Image.new("RGB", (16, 16), (160, 160, 160))
    draw = ImageDraw.Draw(image)
    if defect:
        draw.line((2, 2, 13, 13), fill=(20, 20, 20), width=2)
    image.putpixel((15, 15), (mark, 255 - mark, mark // 2))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def bomb_png(width: int, height: int) -> bytes:
    """A PNG of a few hundred bytes declaring ``width`` × ``height`` RGB pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 65536, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_format_is_sniffed_from_the_bytes_and_exif_applied(tmp_path: Path) -> None:
    png = part_png(True, 1)
    (tmp_path / "named.jpg").write_bytes(png)
    from mosu.evals.images import read_image

    checked = read_image("named.jpg", base=tmp_path, where="row 1")
    assert (checked.format, checked.mime, checked.width, checked.height) == (
        "PNG", "image/png", 16, 16,
    )  # fmt: skip
    assert checked.data == png and checked.sha256 == sha(png)
    assert decode_data_url(checked.data_url()) == png
    # a wide JPEG whose EXIF turns it upright (orientation 6) and carries a location
    exif = Image.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8825).update({1: "N", 2: (31.0, 11.0, 0.0)})
    buffer = io.BytesIO()
    Image.new("RGB", (4, 2), (200, 10, 10)).save(buffer, "JPEG", exif=exif)
    upright = check_image(buffer.getvalue())
    assert (upright.width, upright.height) == (2, 4)
    stored = Image.open(io.BytesIO(upright.data))
    assert stored.size == (2, 4) and dict(stored.getexif()) == {}
    webp = io.BytesIO()
    Image.new("RGBA", (3, 3)).save(webp, "WEBP")
    assert check_image(webp.getvalue()).mime == "image/webp"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"GIF89a not allowed", "not a JPEG, PNG or WebP"),
        (part_png(False, 2)[:60], "PNG"),
        (bomb_png(6000, 6000), "decompression bomb"),
        (bomb_png(50_000, 50_000), "decompression bomb"),
    ],
)
def test_bad_images_and_bombs_are_refused(data: bytes, reason: str) -> None:
    """A bomb declaring 2.5 billion pixels (7.5 GB decoded) is refused from its header: the
    process's peak memory does not grow."""
    assert Image.MAX_IMAGE_PIXELS is not None
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ImageError, match=reason):
        check_image(data, where="row 7")
    assert Image.MAX_IMAGE_PIXELS == MAX_PIXELS
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 20_000  # KiB


def _race_folder(folder: Path) -> tuple[Path, dict[str, str]]:
    """A defect task as files: ``images/``, a test and a dev manifest (JSON lines, image
    paths relative to them), the task YAML; and the answer key by image hash, with the gold
    answer of 9 of the 12 test images (the others are answered 不知道)."""
    (folder / "images").mkdir()
    key: dict[str, str] = {}
    manifests: dict[str, list[dict[str, Any]]] = {"test": [], "dev": []}
    for split, count in (("test", 12), ("dev", 2)):
        for i in range(count):
            label = LABELS[i % 2]
            data = part_png(label == "有缺陷", i + (100 if split == "dev" else 0))
            name = f"images/{split}-{i}.png"
            (folder / name).write_bytes(data)
            row = {"id": f"{split}{i}", "image": name, "label": label, "line": f"L{i % 3}"}
            manifests[split].append(row)
            if split == "test" and i < 9:
                key[image_key(sha(data))] = label
    for split, rows in manifests.items():
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        (folder / f"{split}.jsonl").write_text(lines, encoding="utf-8")
    source = {
        "format": "jsonl",
        "id_field": "id",
        "label_field": "label",
        "image_fields": ["image"],
    }
    task = {
        "name": "defects",
        "splits": {
            "test": {**source, "path": "test.jsonl", "category_field": "line"},
            "dev": {**source, "path": "dev.jsonl"},
        },
        "labels": LABELS,
        "prompt": {
            "template": "零件照片：{{ image }}\n这个零件有缺陷吗？只回答 有缺陷 或 无缺陷。",
            "fewshot": {"split": "dev", "n": 1, "same_category": False},
        },
        "parser": "label",
        "scorers": ["accuracy", "exact_match", "macro_f1"],
    }
    path = folder / "defects.yaml"
    path.write_text(yaml.safe_dump(task, allow_unicode=True), encoding="utf-8")
    return path, key


def test_a_vision_race_through_mosu_eval_run_has_exact_scores(tmp_path: Path) -> None:
    task_file, key = _race_folder(tmp_path)
    cache = tmp_path / "cache"
    args = ["run", str(task_file), "--data-dir", str(tmp_path), "-q", "--cache-dir", str(cache)]
    questions = {sha((tmp_path / f"images/test-{i}.png").read_bytes()) for i in range(12)}
    with serve_in_thread(FakeConfig(answers=key, choices=LABELS)) as (url, server):
        result = runner.invoke(
            app, [*args, "-m", f"vlm=openai:{url}#vlm", "--out", str(tmp_path / "a")]
        )
        assert result.exit_code == 0, result.output
        assert server.requests == 12
        body = server.bodies[-1]
        # a redrawn test image (the same text) is a new request; the rest come from the cache
        (tmp_path / "images/test-4.png").write_bytes(part_png(True, 200))
        again = runner.invoke(
            app, [*args, "-m", f"vlm=openai:{url}#vlm", "--out", str(tmp_path / "b")]
        )
        assert again.exit_code == 0, again.output
        assert server.requests == 13
    saved = json.loads((tmp_path / "a/results.json").read_text(encoding="utf-8"))
    model = saved["models"][0]
    assert model["metrics"]["accuracy"]["value"] == 0.75
    assert model["metrics"]["exact_match"]["value"] == 0.75
    assert model["unparsed"] == 3
    by_category = {c: (v["n"], v["value"]) for c, v in model["by_category"].items()}
    assert by_category == {"L0": (4, 0.75), "L1": (4, 0.75), "L2": (4, 0.75)}  # 9, 10, 11
    # rows gold, columns predicted, the last "no valid answer": ids 9, 10, 11 are unanswered
    assert model["confusion"]["matrix"] == [[5, 0, 1], [0, 4, 2]]
    content = body["messages"][-1]["content"]
    kinds = [p["type"] for p in content]
    assert kinds == ["text", "image_url", "text", "image_url", "text"]
    urls = [p["image_url"]["url"] for p in content if p["type"] == "image_url"]
    sent = [sha(decode_data_url(u)) for u in urls]
    shown = [sha((tmp_path / f"images/{n}.png").read_bytes()) for n in ("dev-0", "dev-1")]
    assert sent[0] in shown and sent[1] in questions  # the example's, then the question's
    later = json.loads((tmp_path / "b/results.json").read_text(encoding="utf-8"))
    assert later["models"][0]["metrics"]["accuracy"]["value"] == pytest.approx(8 / 12)


def test_bad_images_are_named_per_row(tmp_path: Path) -> None:
    task_file, _ = _race_folder(tmp_path)
    (tmp_path / "images/test-2.png").write_bytes(bomb_png(50_000, 50_000))
    (tmp_path / "images/test-5.png").write_text("not an image", encoding="utf-8")
    (tmp_path / "images/test-7.png").unlink()
    result = runner.invoke(
        app, ["run", str(task_file), "--data-dir", str(tmp_path), "-m", "baseline:majority"]
    )
    assert result.exit_code == 2
    assert "3 bad image(s)" in result.output
    said = " ".join(result.output.split())  # as printed, wrapped to the terminal
    for row, reason in (("test2", "bomb"), ("test5", "not a JPEG"), ("test7", "not found")):
        assert re.search(rf"sample {row}, field 'image': ((?!sample ).)*{reason}", said), said


def _inline(rows: list[dict[str, Any]], template: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "shapes",
        "splits": {
            "test": {
                "format": "inline",
                "rows": rows,
                "id_field": "id",
                "label_field": "label",
                "image_fields": ["photo"],
            }
        },
        "prompt": {"template": template},
        **extra,
    }


def test_an_image_field_must_be_placed_in_the_template() -> None:
    rows = [{"id": 1, "photo": part_png(True, 1), "q": "?", "label": "A"}]
    with pytest.raises(TaskError, match=r"photo not placed in prompt.template"):
        parse_task(_inline(rows, "{{ q }}", scorers=["accuracy"]))
    with pytest.raises(DataError, match=r"sample 1, field 'photo'.*not a JPEG"):
        parse_task(
            _inline([{**rows[0], "photo": b"BM bitmap"}], "{{ photo }}", scorers=["accuracy"])
        )


def test_multiple_choice_and_a_judge_that_sees_the_image(tmp_path: Path) -> None:
    """Bytes in inline rows; a choice-letter parser; the judge (the fake server grading) is
    sent the image with its grading prompt: 6 of 8 answered right, the rest 不知道, so
    accuracy 0.75 and the judge (10 for a right answer, 2 for a wrong one) 0.8."""
    images = [part_png(i % 2 == 0, 50 + i) for i in range(8)]
    rows = [{"id": i, "photo": images[i], "label": "AB"[i % 2]} for i in range(8)]
    template = "{{ photo }}\n这个零件：\nA. 有划痕\nB. 完好\n答案："
    shape = _inline(rows, template, parser="choice_letter", scorers=["accuracy"])
    config = answer_config(parse_task(shape), judge_pattern=JUDGE_PATTERN)
    for i in (6, 7):
        del config.answers[image_key(sha(images[i]))]
    with serve_in_thread(config) as (url, server):
        judge = {"name": "judge", "model": f"openai:{url}#judge"}
        task = parse_task({**shape, "scorers": ["accuracy", judge]})
        result = run(task, {"m": f"openai:{url}#m"}, store=tmp_path / "r.sqlite")
        graded = [b for b in server.bodies if b["model"] == "judge"]
    metrics = result.models[0].metrics
    assert metrics["accuracy"].value == 0.75
    assert metrics["judge"].value == pytest.approx(0.8)
    assert len(graded) == 8
    for body in graded:
        parts = body["messages"][-1]["content"]
        assert parts[0]["type"] == "image_url" and "参考答案" in parts[-1]["text"]
        assert sha(decode_data_url(parts[0]["image_url"]["url"])) in {sha(i) for i in images}


def _post(url: str, content: Any) -> tuple[int, str]:
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": content}]})
    request = urllib.request.Request(f"{url}/chat/completions", data=body.encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())["choices"][0]["message"]["content"]
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())["error"]["message"]


def test_the_fake_server_checks_image_parts(tmp_path: Path) -> None:
    good = part_png(True, 9)
    encoded = base64.b64encode(good).decode()
    text = {"type": "text", "text": "有缺陷吗？"}
    key_file = tmp_path / "key.jsonl"
    key_file.write_text(json.dumps({"image_sha256": sha(good).upper(), "answer": "有缺陷"}))
    assert load_answer_key(key_file) == {image_key(sha(good)): "有缺陷"}

    def image(url: str) -> dict[str, Any]:
        return {"type": "image_url", "image_url": {"url": url}}

    with serve_in_thread(FakeConfig(answers=load_answer_key(key_file))) as (url, server):
        assert _post(url, [text, image(f"data:image/png;base64,{encoded}")]) == (200, "有缺陷")
        bad = [
            ([text, image(f"data:image/jpeg;base64,{encoded}")], "not image/jpeg"),
            ([text, image("data:image/png;base64,@@@")], "not a data:image"),
            ([text, image("data:image/png;base64,iVBORw0KGgo=")], "PNG"),
            ([text, image("ftp://example.com/a.png")], "not a data:image"),
            ([text, image(f"{url.rsplit('/v1', 1)[0]}/no-such.png")], "answered HTTP 404"),
            (
                [
                    text,
                    image(
                        f"data:image/png;base64,{base64.b64encode(bomb_png(9000, 9000)).decode()}"
                    ),
                ],
                "bomb",
            ),
            ([text, {"type": "audio", "audio": "x"}], "not a text or image_url part"),
        ]
        for content, reason in bad:
            status, message = _post(url, content)
            assert status == 400 and "bad image" in message and reason in message, message
        assert server.requests == 1


def test_a_stored_prompt_names_its_image_by_hash_not_by_its_bytes() -> None:
    """A store keeps ``sha256:…`` for each image, so it holds no copy of the images, while
    the prompt's hash (and so the cache key) still changes with any byte of them."""
    from mosu.evals.store import prompt_hash, serialise

    def message(png: bytes) -> list[dict[str, object]]:
        url = "data:image/png;base64," + base64.b64encode(png).decode()
        parts = [
            {"type": "text", "text": "哪一类？"},
            {"type": "image_url", "image_url": {"url": url}},
        ]
        return [{"role": "user", "content": parts}]

    one, other = b"\x89PNG one" * 4000, b"\x89PNG two" * 4000
    text = serialise(message(one))
    assert len(text) < 300 and f"sha256:{hashlib.sha256(one).hexdigest()}" in text
    assert prompt_hash(text) != prompt_hash(serialise(message(other)))
    plain = [{"role": "user", "content": "纯文本"}]
    assert serialise(plain) == json.dumps(plain, ensure_ascii=False, sort_keys=True)
