"""GPT-2 in plain PyTorch: pre-LN blocks, causal attention, tanh GELU, head tied to wte.

Any size (124M ... 1558M) is built from a `GPT2Config`. `forward` takes per-row position ids
and a key mask, so a batch of prompts of different lengths can share one left-padded tensor,
and an optional `KVCache` so each new token costs one position's work instead of the whole
context's.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class GPT2Config:
    n_vocab: int = 50257  # tokens; 50256 is <|endoftext|>
    n_ctx: int = 1024  # longest context (positions in wpe)
    n_embd: int = 768  # width of the residual stream
    n_head: int = 12  # attention heads; n_embd / n_head per head
    n_layer: int = 12  # transformer blocks
    n_inner: int = 0  # MLP width; 0 means 4 * n_embd
    eps: float = 1e-5  # layer-norm epsilon

    @property
    def mlp_width(self):
        return self.n_inner or 4 * self.n_embd


def gelu_tanh(x):
    """GPT-2's GELU, the tanh approximation (exact erf GELU moves logits by ~6e-4)."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


class KVCache:
    """Keys and values of every layer for slots [0, length), preallocated to `capacity` slots."""

    def __init__(self, config, batch, capacity, device, dtype):
        shape = (batch, config.n_head, capacity, config.n_embd // config.n_head)  # [B,H,S,D]
        self.keys = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(config.n_layer)]
        self.values = [
            torch.zeros(shape, device=device, dtype=dtype) for _ in range(config.n_layer)
        ]
        self.length = 0
        self.capacity = capacity

    def store(self, layer, k, v):
        """Writes this step's k, v after the cached slots; returns all keys and values so far."""
        start, end = self.length, self.length + k.shape[2]
        self.keys[layer][:, :, start:end] = k
        self.values[layer][:, :, start:end] = v
        return self.keys[layer][:, :, :end], self.values[layer][:, :, :end]

    def copy_rows_from(self, other, rows):
        """Row b becomes row rows[b] of `other`, a cache of the same capacity."""
        self.keys = [k[rows] for k in other.keys]
        self.values = [v[rows] for v in other.values]
        self.length = other.length

    def keep_rows(self, rows):
        """Drops finished rows so later steps only compute the ones still running."""
        self.keys = [k[rows] for k in self.keys]
        self.values = [v[rows] for v in self.values]


class Attention(nn.Module):
    def __init__(self, config, device=None):
        super().__init__()
        self.n_head = config.n_head
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, device=device)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, device=device)

    def forward(self, x, mask, cache, layer):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)  # [B,T,C] each
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        if cache is not None:
            k, v = cache.store(layer, k, v)  # [B,H,S,D] with S = cached + T
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))  # [B,H,T,S]
        # A finite minimum instead of -inf: a padding query that sees no key stays finite
        att = att.masked_fill(~mask, torch.finfo(att.dtype).min)
        y = F.softmax(att, dim=-1) @ v  # [B,H,T,D]
        return self.c_proj(y.transpose(1, 2).reshape(B, T, C))


class MLP(nn.Module):
    def __init__(self, config, device=None):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, config.mlp_width, device=device)
        self.c_proj = nn.Linear(config.mlp_width, config.n_embd, device=device)

    def forward(self, x):
        return self.c_proj(gelu_tanh(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, config, device=None):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.eps, device=device)
        self.attn = Attention(config, device)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.eps, device=device)
        self.mlp = MLP(config, device)

    def forward(self, x, mask, cache, layer):
        x = x + self.attn(self.ln_1(x), mask, cache, layer)
        return x + self.mlp(self.ln_2(x))


class GPT2(nn.Module):
    """GPT-2 language model. Weights use nn.Linear's [out, in] layout (HF's Conv1D transposed)."""

    def __init__(self, config, device=None):
        """`device="meta"` builds the shapes only, for a loader that then sets every weight."""
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.n_vocab, config.n_embd, device=device)
        self.wpe = nn.Embedding(config.n_ctx, config.n_embd, device=device)
        self.h = nn.ModuleList(Block(config, device) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.eps, device=device)

    def parameter_count(self):
        """Distinct parameters; the output head is wte itself and is not counted twice."""
        return sum(p.numel() for p in self.parameters())

    def forward(self, ids, positions=None, key_mask=None, cache=None, last_only=False):
        """Logits [B,T,V] for ids [B,T] (or [B,1,V] for the last position when `last_only`).

        positions [B,T]: each token's position id (default 0..T-1 after the cached slots).
        key_mask [B,S]: True where slot s holds a real token, S = cached slots + T; padding
        slots are False. cache: a KVCache that this call appends to.
        """
        B, T = ids.shape
        past = cache.length if cache is not None else 0
        if positions is None:
            positions = torch.arange(past, past + T, device=ids.device).expand(B, T)
        x = self.wte(ids) + self.wpe(positions)  # [B,T,C]
        mask = attention_mask(past, T, key_mask, ids.device)  # [B or 1,1,T,S]
        for layer, block in enumerate(self.h):
            x = block(x, mask, cache, layer)
        if cache is not None:
            cache.length += T
        if last_only:
            x = x[:, -1:]
        return F.linear(self.ln_f(x), self.wte.weight)  # [B,T,V]


def attention_mask(past, T, key_mask, device):
    """True where query slot past+t may look at key slot s: s <= past+t and s holds a token."""
    slots = torch.arange(past + T, device=device)
    causal = slots[None, :] <= (past + torch.arange(T, device=device))[:, None]  # [T,S]
    mask = causal[None, None]  # [1,1,T,S]
    if key_mask is not None:
        mask = mask & key_mask[:, None, None, : past + T]  # [B,1,T,S]
    return mask
