"""The text sidecar models: GPT-2 ("gpt2") and the char-RNN demo ("charrnn"), op "sample".

Items of a `sample` request: {"id", "prompt": str, "seed": int}. Params, shared by the batch:
{"temperature", "top_k", "top_p", "top_p_style", "max_new_tokens", "stop_at_eot"} (see
twdne.text.sampler). Results: {"id", "text", "stop": "eot" | "length", "new_tokens"}, where
`text` is the decoded continuation alone (never the prompt, never the end-of-text token) and
`new_tokens` counts the tokens (characters for the char-RNN) in it. An item's result depends
only on its prompt, seed and the params, not on the other items of its batch.

Options (--options JSON):
* gpt2: "vocab": folder with encoder.json + vocab.bpe (default: the model folder, which must
  then have them); "batch_size": rows per forward pass (default 16); "eot_bias": a number
  added to the end-of-text logit (tests use it to make a model stop early);
  "eot_in_prompt": "text" (default: a literal <|endoftext|> in a prompt is plain text) or
  "special" (it becomes the end-of-text token).
* charrnn: "batch_size" (default 64).
"""

from pathlib import Path

from .. import faults
from ..errors import ModelFileError, RequestError
from .base import Model

DEFAULT_PARAMS = {"temperature": 0.7, "top_k": 40, "max_new_tokens": 200, "stop_at_eot": True}


class TextModel(Model):
    """A prompt -> continuation model. Subclasses implement `sample_batch`."""

    ops = ("sample",)
    default_batch_size = 16

    def sample_batch(self, prompts, seeds, settings):
        """[{"text", "stop", "new_tokens"}] for these prompts, in order."""
        raise NotImplementedError

    def settings(self, params):
        from ..text.sampler import settings_from_params

        return settings_from_params({**DEFAULT_PARAMS, **(params or {})}, self.eot_bias)

    @property
    def eot_bias(self):
        return 0.0

    def batch_size(self):
        value = self.options.get("batch_size", self.default_batch_size)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise RequestError(f"options.batch_size: expected an integer >= 1, received {value!r}")
        return value

    def run(self, op, items, params):
        self.check_op(op)
        faults.before_batch(items)
        settings = self.settings(params)
        results = [item_error(item) for item in items]
        valid = [index for index, result in enumerate(results) if result is None]
        size = self.batch_size()
        for start in range(0, len(valid), size):
            group = valid[start : start + size]
            prompts = [items[index]["prompt"] for index in group]
            outputs = self.sample_batch(
                prompts, [items[index]["seed"] for index in group], settings
            )
            for index, output in zip(group, outputs):
                results[index] = result_of(items[index]["id"], output)
        return results


def result_of(item_id, output):
    failure = faults.item_error(item_id)
    return {"id": item_id, "error": str(failure)} if failure else {"id": item_id, **output}


def item_error(item):
    """An error result for an item without a string prompt or an integer seed, else None."""
    if not isinstance(item, dict) or "id" not in item:
        raise RequestError(f"items: expected objects with an id, received {item!r}")
    if not isinstance(item.get("prompt"), str):
        return {
            "id": item["id"],
            "error": f"prompt: expected a string, received {item.get('prompt')!r}",
        }
    seed = item.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        return {"id": item["id"], "error": f"seed: expected an integer, received {seed!r}"}
    return None


class GPT2TextModel(TextModel):
    """GPT-2 of any size from a Hugging Face or OpenAI TensorFlow folder, with its BPE vocab."""

    kind = "gpt2"

    def __init__(self, path, device="cpu", options=None):
        super().__init__(path, device, options)
        from ..text.bpe import BPETokenizer
        from ..text.gpt2_weights import load_gpt2

        self.model, self.format = load_gpt2(self.path, device)
        self.vocab_folder = vocab_folder(self.path, self.options.get("vocab"))
        self.tokenizer = BPETokenizer.from_folder(self.vocab_folder)
        if self.tokenizer.vocab_size > self.model.config.n_vocab or self.tokenizer.eot_id is None:
            raise ModelFileError(
                Path(self.vocab_folder) / "encoder.json",
                f"at most {self.model.config.n_vocab} tokens including <|endoftext|>",
                f"{self.tokenizer.vocab_size} tokens"
                + ("" if self.tokenizer.eot_id is not None else " without <|endoftext|>"),
            )
        self.eot_special = (
            option_choice(self.options, "eot_in_prompt", ("text", "special")) == "special"
        )

    @property
    def eot_bias(self):
        bias = self.options.get("eot_bias", 0.0)
        if not isinstance(bias, (int, float)) or isinstance(bias, bool):
            raise RequestError(f"options.eot_bias: expected a number, received {bias!r}")
        return float(bias)

    def info(self):
        config = self.model.config
        return {
            **super().info(),
            "format": self.format,
            "n_layer": config.n_layer,
            "n_head": config.n_head,
            "n_embd": config.n_embd,
            "n_ctx": config.n_ctx,
            "vocab_size": config.n_vocab,
            "parameters": self.model.parameter_count(),
            "vocab": str(self.vocab_folder),
        }

    def sample_batch(self, prompts, seeds, settings):
        from ..text.sampler import generate

        eot = self.tokenizer.eot_id
        ids = [self.tokenizer.encode(p, eot_is_special=self.eot_special) or [eot] for p in prompts]
        outputs = generate(self.model, ids, seeds, settings, eot)
        return [
            {
                "text": self.tokenizer.decode(o["ids"]),
                "stop": o["stop"],
                "new_tokens": len(o["ids"]),
            }
            for o in outputs
        ]


def vocab_folder(model_path, option):
    """The folder with encoder.json + vocab.bpe: options.vocab, or else the model folder."""
    folder = Path(option) if option else Path(model_path)
    if (folder / "encoder.json").is_file() and (folder / "vocab.bpe").is_file():
        return folder
    if option:
        raise ModelFileError(
            folder,
            "options.vocab: a folder with encoder.json and vocab.bpe",
            "a folder without them",
        )
    raise ModelFileError(
        folder,
        "encoder.json and vocab.bpe in the model folder, or options.vocab naming a folder of them",
        "neither",
    )


def option_choice(options, name, choices):
    value = options.get(name, choices[0])
    if value not in choices:
        raise RequestError(
            f"options.{name}: expected one of {', '.join(choices)}, received {value!r}"
        )
    return value


class CharRNNTextModel(TextModel):
    """The two-layer character LSTM; max_new_tokens counts characters, and it never stops early."""

    kind = "charrnn"
    default_batch_size = 64

    def __init__(self, path, device="cpu", options=None):
        super().__init__(path, device, options)
        from ..text.charrnn import CharRNN

        self.model = CharRNN(self.path, device)

    def info(self):
        return {
            **super().info(),
            "format": "charrnn-manifest",
            "n_layer": len(self.model.cells),
            "units": self.model.units,
            "vocab_size": self.model.vocab_size,
            "parameters": self.model.parameter_count(),
        }

    def sample_batch(self, prompts, seeds, settings):
        texts = self.model.generate(prompts, seeds, settings.temperature, settings.max_new_tokens)
        return [{"text": text, "stop": "length", "new_tokens": len(text)} for text in texts]
