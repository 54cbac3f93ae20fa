"""GPT-2 BPE against the golden ids of OpenAI's encoder, gpt-3-encoder and js-tiktoken."""

import json
from pathlib import Path

import pytest

from twdne.errors import ModelFileError
from twdne.text.bpe import BPETokenizer, pretokenize

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "gpt2"
GOLDEN = json.loads((FIXTURES / "tokenizer-golden.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tokenizer():
    return BPETokenizer.from_folder(FIXTURES)


def test_vocabulary_has_50257_tokens_and_eot(tokenizer):
    assert tokenizer.vocab_size == 50257
    assert tokenizer.eot_id == 50256


@pytest.mark.parametrize("case", GOLDEN["encode"], ids=[c["name"] for c in GOLDEN["encode"]])
def test_encode_matches_golden(tokenizer, case):
    assert tokenizer.encode(case["text"]) == case["ids"]
    assert len(case["ids"]) == case["n_tokens"]


@pytest.mark.parametrize("case", GOLDEN["encode"], ids=[c["name"] for c in GOLDEN["encode"]])
def test_encode_then_decode_gives_the_text_back(tokenizer, case):
    assert tokenizer.decode(tokenizer.encode(case["text"])) == case["text"]


EOT_CASES = [c for c in GOLDEN["encode"] if "ids_if_eot_is_special" in c]


@pytest.mark.parametrize("case", EOT_CASES, ids=[c["name"] for c in EOT_CASES])
def test_eot_special_variant_matches_golden(tokenizer, case):
    assert tokenizer.encode(case["text"], eot_is_special=True) == case["ids_if_eot_is_special"]
    # the default treats a literal <|endoftext|> as plain text: never the id 50256
    assert 50256 not in tokenizer.encode(case["text"])


def test_golden_has_eot_cases():
    assert len(EOT_CASES) >= 3


@pytest.mark.parametrize("case", GOLDEN["decode"], ids=[c["name"] for c in GOLDEN["decode"]])
def test_decode_matches_golden(tokenizer, case):
    assert tokenizer.decode(case["ids"]) == case["text"]


def test_pretokenize_follows_gpt2_pattern():
    assert pretokenize("it's  a test!!") == ["it", "'s", " ", " a", " test", "!!"]
    assert pretokenize("x\x1cy") == ["x", "\x1c", "y"]  # U+001C is not \s for GPT-2
    # a space run gives its last space back to the word after it
    assert pretokenize("a   b") == ["a", "  ", " b"]
    assert pretokenize("a \u3000b") == ["a", " ", "\u3000", "b"]


def test_missing_vocab_file_is_named(tmp_path):
    (tmp_path / "encoder.json").write_text("{}")
    with pytest.raises(ModelFileError) as error:
        BPETokenizer.from_folder(tmp_path)
    assert "vocab.bpe" in str(error.value)
    assert "does not exist" in str(error.value)
