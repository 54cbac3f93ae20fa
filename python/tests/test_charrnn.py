"""The char-RNN against a NumPy LSTM reference, its priming, seeds, and 20 real snippets."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from twdne.errors import ModelFileError
from twdne.text.charrnn import CharRNN

MODELS = Path(__file__).resolve().parents[2].parent / "shared" / "models" / "charrnn"
OUT = Path(__file__).resolve().parent / "out" / "charrnn"
PROMPT = "The new season of the anime follows a girl with silver hair who pilots a giant robot. "


@pytest.fixture(scope="module", params=["charlotte_bronte", "darwin"])
def model(request):
    return CharRNN(MODELS / request.param)


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def numpy_logits(folder, text):
    """Logits after each character, from the manifest's raw files and BasicLSTMCell's formula."""
    manifest = json.loads((folder / "manifest.json").read_text())
    arrays = {
        k: np.fromfile(folder / v["filename"], "<f4").reshape(v["shape"])
        for k, v in manifest.items()
    }
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    cells = []
    for n in range(2):
        names = [k for k in arrays if f"cell_{n}/" in k]
        kernel = next(arrays[k] for k in names if k.endswith(("kernel", "weights")))
        bias = next(arrays[k] for k in names if k.endswith(("bias", "biases")))
        cells.append((kernel.astype(np.float64), bias.astype(np.float64)))
    state = [(np.zeros(128), np.zeros(128)) for _ in cells]
    outputs = []
    for char in text:
        x = arrays["embedding"][vocab[char]].astype(np.float64)
        for n, (kernel, bias) in enumerate(cells):
            c, h = state[n]
            i, j, f, o = np.split(np.concatenate([x, h]) @ kernel + bias, 4)
            c = c * sigmoid(f + 1.0) + sigmoid(i) * np.tanh(j)
            h = np.tanh(c) * sigmoid(o)
            state[n] = (c, h)
            x = h
        outputs.append(x @ arrays["rnnlm/softmax_w"] + arrays["rnnlm/softmax_b"])
    return np.stack(outputs)


def test_steps_match_numpy_reference(model):
    text = "It was a dark night."
    expected = numpy_logits(model.folder, text)
    state = model.zero_state(1)
    for t, char in enumerate(text):
        logits, state = model.step(torch.tensor([model.vocab[char]]), state)
        assert np.abs(logits[0].numpy() - expected[t]).max() < 1e-4


def test_prime_of_different_lengths_matches_single_rows(model):
    prompts = [model.encode("Hello there."), model.encode("Hi")]
    batched, _ = model.prime(prompts)
    for row, prompt in enumerate(prompts):
        alone, _ = model.prime([prompt])
        assert torch.allclose(batched[row], alone[0], atol=1e-5)


def test_characters_outside_vocabulary_are_dropped(model):
    clean = model.generate(["Hello girl"], [4], 0.8, 60)
    noisy = model.generate(["Hello 世界girl✨"], [4], 0.8, 60)
    assert "✨" not in model.vocab and "世" not in model.vocab
    assert noisy == clean


def test_item_alone_equals_item_in_a_batch(model):
    prompts = ["A quiet village", "", "She said"]
    batched = model.generate(prompts, [1, 2, 3], 0.7, 50)
    assert [len(t) for t in batched] == [50, 50, 50]
    assert model.generate([prompts[2]], [3], 0.7, 50) == [batched[2]]
    assert model.generate(prompts[::-1], [3, 2, 1], 0.7, 50) == batched[::-1]
    assert batched[0] != model.generate([prompts[0]], [9], 0.7, 50)[0]


def test_temperature_zero_is_greedy_and_seed_free(model):
    assert model.generate(["The"], [1], 0.0, 40) == model.generate(["The"], [2], 0.0, 40)


def test_short_variable_file_is_named(tmp_path):
    for path in (MODELS / "darwin").iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    kernel = tmp_path / "rnnlm_multi_rnn_cell_cell_1_basic_lstm_cell_weights"
    kernel.write_bytes(kernel.read_bytes()[:100])
    with pytest.raises(ModelFileError) as error:
        CharRNN(tmp_path)
    assert str(kernel) in str(error.value)
    assert "expected 524288 bytes of float32" in str(error.value) and "received 100 bytes" in str(
        error.value
    )


def test_twenty_real_snippets_are_written():
    model = CharRNN(MODELS / "charlotte_bronte")
    texts = model.generate([PROMPT] * 20, list(range(20)), 0.6, 300)
    OUT.mkdir(parents=True, exist_ok=True)
    for seed, text in enumerate(texts):
        (OUT / f"snippet-{seed:02d}.txt").write_text(PROMPT + text + "\n", encoding="utf-8")
    assert len(set(texts)) == 20
    words = " ".join(texts).split()
    # char-RNN prose: mostly dictionary-like words, spaces and punctuation, never one long run
    assert len(words) > 20 * 30
    assert sum(w.strip(".,;:!?\"'()").isalpha() for w in words) / len(words) > 0.8
