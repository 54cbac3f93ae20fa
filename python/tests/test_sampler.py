"""Sampling filters against golden distributions, per-item seeds and end-of-text stops."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from twdne.errors import RequestError
from twdne.text.gpt2_weights import load_gpt2
from twdne.text.sampler import SampleSettings, distribution, generate, settings_from_params

TINY = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "gpt2" / "tiny"
GOLDEN = json.loads((TINY / "golden.json").read_text())
FILTERS = GOLDEN["sampling_filters"]
STORY = next(p for p in GOLDEN["prompts"] if p["name"] == FILTERS["on_prompt"])
STORY_LOGITS = torch.from_numpy(np.load(TINY / "golden-last-logits.npy")[STORY["last_logits_row"]])
EOT = 50256


@pytest.fixture(scope="module")
def model():
    return load_gpt2(TINY)[0]


def settings_of(params):
    return SampleSettings(
        temperature=params["temperature"],
        top_k=params.get("top_k", 0),
        top_p=params.get("top_p", 1.0),
        top_p_style=params.get("top_p_style", "hf"),
    )


@pytest.mark.parametrize("case", FILTERS["cases"], ids=[c["name"] for c in FILTERS["cases"]])
def test_filtered_distribution_matches_golden(case):
    settings = settings_of(case["params"])
    probs = distribution(STORY_LOGITS[None], settings)[0]
    assert int((probs > 0).sum()) == case["n_kept"]
    ids = case.get("kept_ids_by_prob") or case["top10_ids"]
    expected = case.get("probs") or case["top10_probs"]
    assert torch.argsort(probs, descending=True)[: len(ids)].tolist() == ids
    assert torch.allclose(probs[ids], torch.tensor(expected), atol=1e-6)
    if "min_kept_logit" in case:
        # the golden file gives the raw (unscaled) logit of the least likely kept token
        assert STORY_LOGITS[probs > 0].min().item() == pytest.approx(
            case["min_kept_logit"], abs=1e-5
        )


def test_top_p_conventions_differ_by_the_crossing_token():
    hf = distribution(STORY_LOGITS[None], SampleSettings(top_k=40, top_p=0.5))[0]
    openai = distribution(
        STORY_LOGITS[None], SampleSettings(top_k=40, top_p=0.5, top_p_style="openai")
    )[0]
    assert int((hf > 0).sum()) == int((openai > 0).sum()) + 1


def sample(model, prompts, seeds, **settings):
    config = {"temperature": 1.0, "top_k": 40, "max_new_tokens": 12, "stop_at_eot": False}
    return generate(model, prompts, seeds, SampleSettings(**{**config, **settings}), EOT)


def test_item_alone_and_in_a_batch_gives_same_tokens(model):
    prompts = [p["prompt_ids"] for p in GOLDEN["prompts"]]
    seeds = [11, 22, 33, 44, 55, 66]
    batched = sample(model, prompts, seeds)
    for row in (0, 3, 5):
        alone = sample(model, [prompts[row]], [seeds[row]])
        assert alone[0]["ids"] == batched[row]["ids"]
    # reordered and regrouped batch neighbours change nothing either
    regrouped = sample(model, [prompts[5], prompts[1], prompts[0]], [66, 999, 11])
    assert regrouped[0]["ids"] == batched[5]["ids"]
    assert regrouped[2]["ids"] == batched[0]["ids"]


def test_cache_and_no_cache_sample_the_same(model):
    prompts = [p["prompt_ids"] for p in GOLDEN["prompts"][:3]]
    cached = sample(model, prompts, [1, 2, 3], top_p=0.9)
    recomputed = generate(
        model,
        prompts,
        [1, 2, 3],
        SampleSettings(top_k=40, top_p=0.9, max_new_tokens=12, stop_at_eot=False),
        EOT,
        use_cache=False,
    )
    assert [r["ids"] for r in cached] == [r["ids"] for r in recomputed]


def test_shared_prompts_are_prefilled_once_and_sample_as_alone(model, monkeypatch):
    story = STORY["prompt_ids"]
    # [0, t] and [t] pad to the same ids: only the key mask tells them apart
    prompts = [story, [0] + story[-3:], story, story[-3:], story, [0] + story[-3:]]
    seeds = [1, 2, 3, 4, 5, 6]
    rows_prefilled = []
    forward = type(model).forward

    def counting_forward(self, ids, *args, **kwargs):
        rows_prefilled.append(ids.shape[0])
        return forward(self, ids, *args, **kwargs)

    monkeypatch.setattr(type(model), "forward", counting_forward)
    shared = sample(model, prompts, seeds, max_new_tokens=6)
    assert rows_prefilled[0] == 3, "three distinct prompts, one prefill row each"
    monkeypatch.undo()
    for row, (prompt, seed) in enumerate(zip(prompts, seeds)):
        assert shared[row]["ids"] == sample(model, [prompt], [seed], max_new_tokens=6)[0]["ids"]


def test_seed_changes_sample_and_repeats_exactly(model):
    prompt = [STORY["prompt_ids"]]
    first, again, other = (sample(model, prompt, [seed])[0]["ids"] for seed in (5, 5, 6))
    assert first == again
    assert first != other
    assert first != STORY["greedy_ids"][:12]


def test_sampled_tokens_stay_inside_top_k(model):
    out = sample(model, [STORY["prompt_ids"]], [3], top_k=5, max_new_tokens=1)
    first = out[0]["ids"][0]
    assert first in GOLDEN["prompts"][0]["greedy_steps"][0]["top5_ids"]


def test_eot_bias_stops_rows_with_eot(model):
    out = sample(model, [STORY["prompt_ids"], [EOT]], [1, 2], eot_bias=1000.0, stop_at_eot=True)
    assert out == [{"ids": [], "stop": "eot"}, {"ids": [], "stop": "eot"}]


def test_stop_is_per_row_and_cuts_before_eot(model):
    # a moderate bias: rows meet EOT at different steps, and no EOT id is ever returned
    prompts = [p["prompt_ids"] for p in GOLDEN["prompts"]]
    out = sample(model, prompts, range(6), eot_bias=6.0, stop_at_eot=True, max_new_tokens=30)
    stops = [o["stop"] for o in out]
    assert "eot" in stops
    assert all(EOT not in o["ids"] for o in out)
    assert len({len(o["ids"]) for o in out}) > 1
    for o in out:
        assert (len(o["ids"]) < 30) if o["stop"] == "eot" else (len(o["ids"]) == 30)


def test_without_stop_at_eot_the_eot_is_kept(model):
    out = sample(model, [STORY["prompt_ids"]], [1], eot_bias=1000.0, max_new_tokens=3)
    assert out == [{"ids": [EOT, EOT, EOT], "stop": "length"}]


@pytest.mark.parametrize(
    "params, message",
    [
        ({"temperature": -1}, "params.temperature: expected a number >= 0, received -1"),
        ({"top_k": 2.5}, "params.top_k: expected an integer >= 0, received 2.5"),
        ({"top_p": 0}, "params.top_p: expected a number in (0, 1], received 0"),
        ({"top_p_style": "x"}, "params.top_p_style: expected one of hf, openai, received 'x'"),
        ({"max_new_tokens": "9"}, "params.max_new_tokens: expected an integer >= 0, received '9'"),
    ],
)
def test_bad_params_are_named(params, message):
    with pytest.raises(RequestError) as error:
        settings_from_params(params)
    assert str(error.value) == message


def test_too_many_new_tokens_for_context_is_refused(model):
    with pytest.raises(RequestError, match="n_ctx 128"):
        sample(model, [[EOT]], [0], max_new_tokens=128)
