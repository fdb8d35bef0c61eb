"""`protocol` and `prompts` in training configs: the examples, the rewards, the render timeout."""

from __future__ import annotations

import pytest
from train_helpers import CIRCLE, cpu_args

from manimatic.agent.prompts import load_prompts
from manimatic.train.config import ManimGRPOConfig, ManimSFTConfig
from manimatic.train.data import grpo_record, sft_record
from manimatic.train.scoring import RolloutScorer


class _Task:
    id = "t1"
    prompt = "A blue circle is drawn."
    reference_code = CIRCLE


def test_config_protocol_sets_prompts_and_timeout(tmp_path):
    ours = ManimGRPOConfig(**cpu_args(output_dir=str(tmp_path)))
    study = ManimGRPOConfig(**cpu_args(output_dir=str(tmp_path), protocol="study"))
    assert (ours.protocol, ours.render_timeout, ours.prompt_set.name) == (
        "manimatic",
        60.0,
        "manimatic",
    )
    assert (study.protocol, study.render_timeout, study.prompt_set.name) == (
        "study",
        300.0,
        "study",
    )
    given = ManimGRPOConfig(
        **cpu_args(output_dir=str(tmp_path), protocol="study", render_timeout=20)
    )
    assert given.render_timeout == 20
    sft = ManimSFTConfig(**cpu_args(output_dir=str(tmp_path), prompts="study"))
    assert sft.protocol == "manimatic" and sft.prompt_set.name == "study"


@pytest.mark.parametrize(
    ("changes", "needle"),
    [({"protocol": "paper"}, "unknown protocol"), ({"prompts": "/no/p.yaml"}, "not found")],
)
def test_bad_protocol_settings(tmp_path, changes, needle):
    with pytest.raises(ValueError, match=needle):
        ManimSFTConfig(**cpu_args(output_dir=str(tmp_path), **changes))


def test_examples_use_the_protocols_prompts():
    study = load_prompts("study")
    sft = sft_record(_Task(), study)
    assert sft["prompt"][0]["content"] == study.system_for("initial")
    assert sft["completion"][0]["content"].startswith("<CODE>\n```python\n")
    grpo = grpo_record(_Task(), study)
    assert grpo["prompt"][1]["content"] == study.render("user", description=_Task.prompt)
    assert sft_record(_Task())["prompt"] != sft["prompt"]  # the default is manimatic's


def test_study_rewards_use_the_studys_extraction(render_pool):
    fenced_py = f"```py\n{CIRCLE}```"
    ours = RolloutScorer(render_pool, render_timeout=60)
    study = RolloutScorer(render_pool, render_timeout=60, protocol="study")
    try:
        (mine,) = ours.score([fenced_py], [CIRCLE])
        (theirs,) = study.score([fenced_py], [CIRCLE])
    finally:
        ours.close()
        study.close()
    assert mine.found and mine.rendered
    assert not theirs.found and theirs.r_code == 0.0 and theirs.r_visual == 0.0
