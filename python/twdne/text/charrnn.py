"""The char-RNN demo model: two stacked TensorFlow BasicLSTMCells over characters.

A model folder holds manifest.json (TF variable name -> {"filename", "shape"}), one file of
raw little-endian float32 per variable, and vocab.json (character -> index). Variables are
named rnnlm/multi_rnn_cell/cell_N/basic_lstm_cell/{kernel,bias} by newer TF versions and
.../{weights,biases} by older ones; both are accepted.

Each cell computes z = [x, h] . K + b, split into i, j, f, o (in that order), then
c = c * sigmoid(f + 1) + sigmoid(i) * tanh(j) and h = tanh(c) * sigmoid(o); the 1 is
BasicLSTMCell's forget bias, which is not stored in b. The prompt primes the state (characters
outside the vocabulary are dropped); a prompt left empty primes with one space.
"""

import json
from pathlib import Path

import numpy as np
import torch

from ..errors import ModelFileError
from .sampler import SampleSettings, pick_tokens, row_generators

CELL = "rnnlm/multi_rnn_cell/cell_{}/basic_lstm_cell/{}"
NAMINGS = (("kernel", "bias"), ("weights", "biases"))


class CharRNN:
    """Embedding -> LSTM -> LSTM -> softmax over the vocabulary's characters."""

    def __init__(self, folder, device="cpu"):
        self.folder = Path(folder)
        self.device = device
        self.vocab = read_vocab(self.folder / "vocab.json")
        self.chars = {index: char for char, index in self.vocab.items()}
        variables = read_variables(self.folder)
        self.embedding = variables["embedding"]  # [V,E]
        self.cells = [cell_weights(self.folder, variables, n) for n in range(2)]  # (K, b) pairs
        self.softmax_w, self.softmax_b = variables["rnnlm/softmax_w"], variables["rnnlm/softmax_b"]
        self.units = self.softmax_w.shape[0]
        self.check_shapes()
        for name in ("embedding", "softmax_w", "softmax_b"):
            setattr(self, name, getattr(self, name).to(device))
        self.cells = [(k.to(device), b.to(device)) for k, b in self.cells]

    @property
    def vocab_size(self):
        return self.embedding.shape[0]

    def parameter_count(self):
        tensors = [self.embedding, self.softmax_w, self.softmax_b, *sum(self.cells, ())]
        return sum(t.numel() for t in tensors)

    def check_shapes(self):
        V, E, U = self.embedding.shape[0], self.embedding.shape[1], self.units
        wanted = {
            "rnnlm/softmax_w": (tuple(self.softmax_w.shape), (U, V)),
            "rnnlm/softmax_b": (tuple(self.softmax_b.shape), (V,)),
        }
        for n, (kernel, bias) in enumerate(self.cells):
            inputs = E if n == 0 else U
            wanted[f"cell_{n} kernel"] = (tuple(kernel.shape), (inputs + U, 4 * U))
            wanted[f"cell_{n} bias"] = (tuple(bias.shape), (4 * U,))
        for name, (got, expected) in wanted.items():
            if got != expected:
                raise ModelFileError(
                    self.folder / "manifest.json",
                    f"{name} of shape {list(expected)}",
                    f"shape {list(got)}",
                )
        if len(self.vocab) != V or sorted(self.vocab.values()) != list(range(V)):
            raise ModelFileError(
                self.folder / "vocab.json",
                f"indexes 0..{V - 1} for the {V} embedding rows",
                f"{len(self.vocab)} characters",
            )

    def encode(self, text):
        """Indexes of the prompt's characters that the vocabulary has; the rest are dropped."""
        return [self.vocab[char] for char in text if char in self.vocab]

    def zero_state(self, batch):
        zeros = torch.zeros(batch, self.units, device=self.device)  # [B,U]
        return [(zeros, zeros) for _ in self.cells]  # (c, h) per cell

    def step(self, ids, state):
        """Logits [B,V] after feeding ids [B], and the new state."""
        x = self.embedding[ids]  # [B,E]
        new_state = []
        for (kernel, bias), (c, h) in zip(self.cells, state):
            z = torch.cat([x, h], dim=1) @ kernel + bias  # [B,4U]
            i, j, f, o = z.chunk(4, dim=1)
            c = c * torch.sigmoid(f + 1.0) + torch.sigmoid(i) * torch.tanh(j)
            h = torch.tanh(c) * torch.sigmoid(o)
            new_state.append((c, h))
            x = h
        return x @ self.softmax_w + self.softmax_b, new_state

    @torch.no_grad()
    def generate(self, prompts, seeds, temperature, max_new_tokens):
        """The continuation of each prompt, `max_new_tokens` characters long."""
        primes = [self.encode(p) or [self.vocab.get(" ", 0)] for p in prompts]
        logits, state = self.prime(primes)
        settings = SampleSettings(temperature=temperature, max_new_tokens=max_new_tokens)
        generators = row_generators(seeds)
        texts = [[] for _ in prompts]
        for _ in range(max_new_tokens):
            ids = pick_tokens(logits, settings, generators)  # [B]
            for row, index in enumerate(ids.tolist()):
                texts[row].append(self.chars[index])
            logits, state = self.step(ids, state)
        return ["".join(chars) for chars in texts]

    def prime(self, primes):
        """(last logits [B,V], state) after every row's prompt; short rows hold their state."""
        width = max(len(p) for p in primes)
        state = self.zero_state(len(primes))
        logits = torch.zeros(len(primes), self.vocab_size, device=self.device)  # [B,V]
        for t in range(width):
            active = torch.tensor([t < len(p) for p in primes], device=self.device)[
                :, None
            ]  # [B,1]
            ids = torch.tensor([p[t] if t < len(p) else 0 for p in primes], device=self.device)
            step_logits, step_state = self.step(ids, state)
            logits = torch.where(active, step_logits, logits)
            state = [
                (torch.where(active, c1, c0), torch.where(active, h1, h0))
                for (c0, h0), (c1, h1) in zip(state, step_state)
            ]
        return logits, state


def read_vocab(path):
    try:
        vocab = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(
            path, "the char-RNN's vocab.json", "a path that does not exist"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFileError(
            path, "a JSON object of character -> index", f"unreadable JSON ({exc})"
        )
    if not isinstance(vocab, dict) or not all(isinstance(i, int) for i in vocab.values()):
        raise ModelFileError(
            path, "a JSON object of character -> index", f"a {type(vocab).__name__}"
        )
    return vocab


def read_variables(folder):
    """{TF variable name: float32 tensor} for every manifest entry, each file's size checked."""
    manifest_path = Path(folder) / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(
            manifest_path, "the char-RNN's manifest.json", "a path that does not exist"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFileError(manifest_path, "a JSON manifest", f"unreadable JSON ({exc})")
    variables = {}
    for name, entry in manifest.items():
        try:
            path, shape = Path(folder) / entry["filename"], [int(n) for n in entry["shape"]]
        except (KeyError, TypeError, ValueError):
            raise ModelFileError(manifest_path, f"filename and shape for {name}", repr(entry))
        expected = 4 * int(np.prod(shape, dtype=np.int64))
        size = path.stat().st_size if path.is_file() else None
        if size != expected:
            received = "a path that does not exist" if size is None else f"{size} bytes"
            raise ModelFileError(path, f"{expected} bytes of float32 for {name} {shape}", received)
        variables[name] = torch.from_numpy(np.fromfile(path, dtype="<f4").reshape(shape))
    missing = [n for n in ("embedding", "rnnlm/softmax_w", "rnnlm/softmax_b") if n not in variables]
    if missing:
        raise ModelFileError(
            manifest_path,
            "embedding, rnnlm/softmax_w and rnnlm/softmax_b",
            f"no {', '.join(missing)}",
        )
    return variables


def cell_weights(folder, variables, n):
    """(kernel, bias) of cell n under either naming."""
    for kernel_name, bias_name in NAMINGS:
        kernel, bias = CELL.format(n, kernel_name), CELL.format(n, bias_name)
        if kernel in variables and bias in variables:
            return variables[kernel], variables[bias]
    raise ModelFileError(
        Path(folder) / "manifest.json",
        f"{CELL.format(n, 'kernel')} and .../bias (or .../weights and .../biases)",
        f"variables {', '.join(sorted(variables))}",
    )
