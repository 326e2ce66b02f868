"""Signed image links (mosu.evals.image_links): what a link signs, when it expires, and that
a prompt sent by links keeps its base64 form (so cache keys and stored prompts are the
same whichever way a stage sends its images)."""

from __future__ import annotations

import copy
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest

from mosu.core.errors import Invalid
from mosu.evals.image_links import TTL_SECONDS, ImageLinks, link_is_valid, link_key
from mosu.evals.images import check_image
from mosu.race.builder import task_from_fields
from mosu.race.perf_spec import engine_definition
from tests.helpers.images import png_of

NOW = 1_800_000_000.0
KEY = link_key("a-test-secret-key-that-is-long-enough")


def _parts(url: str) -> tuple[str, int, str]:
    split = urlsplit(url)
    query = parse_qs(split.query)
    return split.path.rsplit("/", 1)[1], int(query["expires"][0]), query["sig"][0]


def test_a_link_names_the_images_hash_and_is_valid_until_it_expires() -> None:
    links = ImageLinks("https://mosu.example.cn/api/v1/corpus/images", KEY)
    sha = "ab" * 32
    url = links.url(sha, now=NOW)
    assert url.startswith(f"https://mosu.example.cn/api/v1/corpus/images/{sha}?expires=")
    name, expires, sig = _parts(url)
    assert name == sha and expires == NOW + TTL_SECONDS
    assert link_is_valid(KEY, sha, expires, sig, now=NOW)
    assert link_is_valid(KEY, sha, expires, sig, now=expires)
    assert not link_is_valid(KEY, sha, expires, sig, now=expires + 1)  # expired
    assert not link_is_valid(KEY, "cd" * 32, expires, sig, now=NOW)  # another image
    assert not link_is_valid(KEY, sha, expires + 1, sig, now=NOW)  # a longer life
    assert not link_is_valid(link_key("another-secret-key"), sha, expires, sig, now=NOW)
    _, far, far_sig = _parts(ImageLinks(links.base, KEY, ttl=10 * TTL_SECONDS).url(sha, now=NOW))
    assert not link_is_valid(KEY, sha, far, far_sig, now=NOW)  # a life longer than links get


def test_linking_replaces_only_base64_images_and_leaves_the_prompt_as_it_was() -> None:
    image = check_image(png_of(7))
    messages = [
        {"role": "system", "content": "只回答标签。"},
        {"role": "user", "content": [{"type": "text", "text": "图："}, image.part()]},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y"}}]},
    ]
    before = copy.deepcopy(messages)
    links = ImageLinks("http://127.0.0.1:8000/api/v1/corpus/images", KEY)
    linked = links.linked(messages, now=NOW)
    assert messages == before  # the stored prompt and its cache key keep the bytes
    assert linked[0] == messages[0] and linked[2] == messages[2]
    [text, part] = linked[1]["content"]
    assert text == {"type": "text", "text": "图："}
    assert part["image_url"]["url"] == links.url(image.sha256, now=NOW)
    assert image.sha256 == hashlib.sha256(png_of(7)).hexdigest()


def test_a_stage_names_base64_or_signed_url_and_the_engine_never_sees_the_key() -> None:
    task = {"prompt": {"template": "{{ image }}"}, "scorers": ["accuracy"]}
    assert engine_definition({**task, "image_delivery": "signed_url"}) == task
    assert engine_definition({**task, "image_delivery": "base64"}) == task
    with pytest.raises(Invalid, match="可选 base64 或 signed_url"):
        engine_definition({**task, "image_delivery": "ftp"})
    fields = {"system": "", "template": "{{ image }}", "parser": "label", "scorers": ["accuracy"]}
    assert "image_delivery" not in task_from_fields(**fields)  # the builder form's default
    chosen = task_from_fields(**fields, image_delivery="signed_url")
    assert chosen["image_delivery"] == "signed_url"
