"""The gpt2 and charrnn sidecar models, in process and as real worker subprocesses."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from twdne.errors import ModelFileError, RequestError
from twdne.models import detect_kind, load_model

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
VOCAB = SHARED / "fixtures" / "gpt2"
TINY = VOCAB / "tiny"
BRONTE = SHARED / "models" / "charrnn" / "charlotte_bronte"
PYTHON_ROOT = Path(__file__).resolve().parents[1]
PARAMS = {"temperature": 0.8, "top_k": 40, "top_p": 0.95, "max_new_tokens": 10}
ITEMS = [
    {"id": 1, "prompt": "A girl with silver hair", "seed": 101},
    {"id": 2, "prompt": "", "seed": 102},
    {"id": 3, "prompt": "Mecha pilots in a ruined Tokyo fight for", "seed": 103},
]


def gpt2(**options):
    return load_model("gpt2", TINY, options={"vocab": str(VOCAB), **options})


def worker(kind, model, options, requests):
    """Runs a real worker; returns its stdout messages and exit status."""
    lines = "".join(json.dumps(r) + "\n" for r in requests)
    command = [sys.executable, "-m", "twdne.worker", "--kind", kind, "--model", str(model)]
    command += ["--options", json.dumps(options)]
    done = subprocess.run(
        command,
        input=lines,
        capture_output=True,
        text=True,
        cwd=PYTHON_ROOT,
        timeout=120,
        check=False,
    )
    return [json.loads(line) for line in done.stdout.splitlines()], done.returncode


def test_gpt2_worker_answers_a_sample_request():
    request = {"id": 9, "op": "sample", "params": PARAMS, "items": ITEMS}
    messages, status = worker("gpt2", TINY, {"vocab": str(VOCAB)}, [request])
    assert status == 0
    ready, answer = messages
    assert ready["event"] == "ready"
    info = ready["info"]
    assert (info["kind"], info["format"], info["n_layer"], info["n_head"]) == (
        "gpt2",
        "safetensors",
        2,
        4,
    )
    assert (info["n_embd"], info["n_ctx"], info["vocab_size"]) == (32, 128, 50257)
    assert info["parameters"] == 1637792
    assert answer["id"] == 9 and answer["ok"]
    results = answer["results"]
    assert [r["id"] for r in results] == [1, 2, 3]
    for result in results:
        assert result["stop"] == "length" and result["new_tokens"] == 10
        assert isinstance(result["text"], str) and result["text"]
    # the worker's text for an item is what this process gets for that item alone
    for item, result in zip(ITEMS, results):
        assert gpt2().run("sample", [item], PARAMS)[0] == result


def test_charrnn_worker_answers_a_sample_request():
    request = {
        "id": 4,
        "op": "sample",
        "params": {"temperature": 0.5, "max_new_tokens": 80},
        "items": ITEMS,
    }
    messages, status = worker("charrnn", BRONTE, {}, [request])
    assert status == 0
    ready, answer = messages
    assert ready["info"]["kind"] == "charrnn" and ready["info"]["vocab_size"] == 108
    assert answer["ok"]
    for result in answer["results"]:
        assert result["stop"] == "length"
        assert len(result["text"]) == result["new_tokens"] == 80
    alone = load_model("charrnn", BRONTE).run(
        "sample", [ITEMS[2]], {"temperature": 0.5, "max_new_tokens": 80}
    )
    assert alone[0] == answer["results"][2]


def test_gpt2_worker_without_vocab_reports_fatal(tmp_path):
    messages, status = worker("gpt2", TINY, {}, [])
    assert status == 3
    assert messages[0]["event"] == "fatal"
    message = messages[0]["error"]["message"]
    assert (
        str(TINY) in message
        and "encoder.json and vocab.bpe" in message
        and "options.vocab" in message
    )


def test_eot_stop_cuts_the_text_and_empty_continuations_are_empty():
    forced = gpt2(eot_bias=1000.0).run("sample", ITEMS, PARAMS)
    assert forced == [{"id": i["id"], "text": "", "stop": "eot", "new_tokens": 0} for i in ITEMS]

    model = gpt2(eot_bias=3.0)  # some rows meet EOT within 40 tokens, some do not
    params = {**PARAMS, "max_new_tokens": 40}
    items = [{"id": n, "prompt": "Once upon a time", "seed": n} for n in range(8)]
    stopped = model.run("sample", items, params)
    running_on = model.run("sample", items, {**params, "stop_at_eot": False})
    assert {r["stop"] for r in stopped} == {"eot", "length"}
    for cut, whole in zip(stopped, running_on):
        assert "<|endoftext|>" not in cut["text"]
        if cut["stop"] == "eot":
            assert "<|endoftext|>" in whole["text"]  # the same draws, decoded past the stop
            assert cut["text"] == whole["text"].split("<|endoftext|>")[0]
            assert cut["new_tokens"] < 40
        else:
            assert cut == whole


def test_sub_batches_give_the_same_results():
    items = [{"id": n, "prompt": "x" * (n % 5), "seed": 7 * n} for n in range(7)]
    whole = gpt2().run("sample", items, PARAMS)
    assert gpt2(batch_size=2).run("sample", items, PARAMS) == whole


def test_bad_items_are_item_errors_and_the_rest_finish():
    items = [{"id": 1, "prompt": 5, "seed": 1}, {"id": 2, "prompt": "ok", "seed": "x"}, ITEMS[0]]
    results = gpt2().run("sample", items, PARAMS)
    assert results[0] == {"id": 1, "error": "prompt: expected a string, received 5"}
    assert results[1] == {"id": 2, "error": "seed: expected an integer, received 'x'"}
    assert results[2]["new_tokens"] == 10


def test_bad_params_and_ops_are_request_errors():
    model = gpt2()
    with pytest.raises(RequestError, match="params.top_k"):
        model.run("sample", ITEMS, {"top_k": -3})
    with pytest.raises(RequestError, match="received op 'generate'"):
        model.run("generate", ITEMS, {})


def test_literal_eot_in_prompt_option():
    prompt = [{"id": 1, "prompt": "<|endoftext|>", "seed": 3}]
    as_text = gpt2().run("sample", prompt, PARAMS)[0]
    as_special = gpt2(eot_in_prompt="special").run("sample", prompt, PARAMS)[0]
    unconditional = gpt2().run("sample", [{**prompt[0], "prompt": ""}], PARAMS)[0]
    assert as_special["text"] == unconditional["text"]  # an empty prompt starts from EOT
    assert as_text["text"] != as_special["text"]
    with pytest.raises(RequestError, match="options.eot_in_prompt"):
        gpt2(eot_in_prompt="maybe")


def test_missing_vocab_option_folder_is_named(tmp_path):
    with pytest.raises(ModelFileError) as error:
        load_model("gpt2", TINY, options={"vocab": str(tmp_path)})
    assert str(tmp_path) in str(error.value) and "encoder.json" in str(error.value)


def test_text_model_folders_are_detected():
    assert detect_kind(TINY) == "gpt2"
    assert detect_kind(BRONTE) == "charrnn"
    assert detect_kind(SHARED / "models" / "charrnn" / "darwin") == "charrnn"
