"""Batched GPT-2 sampling: temperature, top_k, top_p, a KV cache and one seed per item.

Filters run in the order logits / temperature -> top_k -> top_p -> softmax. top_k keeps every
token whose logit is at least the k-th largest. top_p has two conventions, chosen by
`top_p_style`:
* "hf" (default, Hugging Face): keep the smallest most-likely-first prefix whose mass reaches
  top_p, so the token that crosses top_p is kept;
* "openai" (OpenAI's sample.py): keep the tokens whose most-likely-first cumulative mass is at
  most top_p (at least one), so the crossing token is dropped.
temperature 0 or top_k 1 is greedy decoding (argmax).

Prompts of different lengths share a batch by left padding: a key mask hides the padding and
each row's position ids count from its own first token. Each row draws its random numbers
from its own CPU torch.Generator seeded with the item's seed, one uniform number per step,
and turns it into a token by inverting the row's cumulative distribution on the device; so a
row's text depends on its prompt, seed and settings, not on its batch neighbours, on the
worker or on the device's RNG. (Float rounding that differs with batch shape could in theory
move a draw that falls within ~1e-7 of a boundary between two tokens.)
"""

from dataclasses import dataclass

import torch

from ..errors import RequestError
from .gpt2 import KVCache

TOP_P_STYLES = ("hf", "openai")


@dataclass
class SampleSettings:
    temperature: float = 1.0  # 0: greedy
    top_k: int = 0  # 0: no top-k filter
    top_p: float = 1.0  # 1.0: no top-p filter
    top_p_style: str = "hf"  # "hf" keeps the token that crosses top_p, "openai" drops it
    max_new_tokens: int = 64
    stop_at_eot: bool = True  # stop a row when it samples the end-of-text id
    eot_bias: float = 0.0  # added to the end-of-text logit (tests use it to force early stops)

    @property
    def greedy(self):
        return self.temperature == 0 or self.top_k == 1


def settings_from_params(params, eot_bias=0.0):
    """SampleSettings from a request's params; a bad value names the param and what it got."""
    settings = SampleSettings(eot_bias=eot_bias)
    checks = {
        "temperature": (float, lambda v: v >= 0, "a number >= 0"),
        "top_k": (int, lambda v: v >= 0, "an integer >= 0"),
        "top_p": (float, lambda v: 0 < v <= 1, "a number in (0, 1]"),
        "top_p_style": (str, lambda v: v in TOP_P_STYLES, f"one of {', '.join(TOP_P_STYLES)}"),
        "max_new_tokens": (int, lambda v: v >= 0, "an integer >= 0"),
        "stop_at_eot": (bool, lambda v: True, "true or false"),
    }
    for name, (kind, valid, expected) in checks.items():
        if params.get(name) is None:
            continue
        value = params[name]
        if not is_kind(value, kind) or not valid(kind(value)):
            raise RequestError(f"params.{name}: expected {expected}, received {value!r}")
        setattr(settings, name, kind(value))
    return settings


def is_kind(value, kind):
    if kind is bool or kind is str:
        return isinstance(value, kind)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return kind is float or float(value).is_integer()


# Filters


def filter_logits(logits, settings):
    """logits [B,V] scaled by 1/temperature with filtered-out tokens set to -inf."""
    logits = logits / max(settings.temperature, 1e-8)
    if 0 < settings.top_k < logits.shape[-1]:
        kth = torch.topk(logits, settings.top_k, dim=-1).values[:, -1:]  # [B,1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if settings.top_p < 1.0:
        logits = top_p_filter(logits, settings.top_p, settings.top_p_style)
    return logits


def top_p_filter(logits, top_p, style):
    """Drops the unlikely tail whose mass is beyond top_p, by `style`'s convention."""
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)  # [B,V]
    probs = torch.softmax(sorted_logits, dim=-1)
    mass = torch.cumsum(probs, dim=-1)  # mass of each token and all likelier ones
    if style == "openai":
        drop = mass > top_p
    else:
        before = torch.cat([torch.zeros_like(mass[:, :1]), mass[:, :-1]], dim=-1)
        drop = before >= top_p
    drop[:, 0] = False  # the likeliest token always stays
    drop = drop.scatter(-1, order, drop)  # back to vocabulary order
    return logits.masked_fill(drop, float("-inf"))


def distribution(logits, settings):
    """The post-filter probabilities [B,V] that sampling draws from."""
    return torch.softmax(filter_logits(logits, settings), dim=-1)


# Drawing tokens


def row_generators(seeds):
    """One CPU generator per item, so each item's draws come from its seed alone."""
    return [torch.Generator().manual_seed(int(seed) % (1 << 64)) for seed in seeds]


def pick_tokens(logits, settings, generators):
    """One token id per row [B] from last-position logits [B,V]."""
    if settings.greedy:
        return torch.argmax(logits, dim=-1)
    probs = distribution(logits.float(), settings)  # [B,V]
    draws = torch.stack([torch.rand((), generator=g) for g in generators])  # [B] on CPU
    cdf = torch.cumsum(probs, dim=-1)  # [B,V]
    targets = draws.to(cdf.device)[:, None] * cdf[:, -1:]  # [B,1]
    tokens = torch.searchsorted(cdf, targets, right=True)[:, 0].clamp_(max=probs.shape[-1] - 1)
    # A draw rounding onto the very end of the cdf could land on a filtered token
    unlikely = probs.gather(-1, tokens[:, None])[:, 0] <= 0
    return torch.where(unlikely, torch.argmax(probs, dim=-1), tokens)


# The batch loop


@torch.no_grad()
def generate(model, prompts, seeds, settings, eot_id, use_cache=True):
    """New token ids per prompt: [{"ids": [...], "stop": "eot" | "length"}], in prompt order.

    prompts: lists of token ids (each non-empty; an unconditional prompt is [eot_id]).
    The end-of-text token itself is not included in "ids".
    """
    if not prompts:
        return []
    n_ctx = model.config.n_ctx
    if settings.max_new_tokens >= n_ctx:
        raise RequestError(
            f"params.max_new_tokens: expected less than the model's n_ctx {n_ctx}, "
            f"received {settings.max_new_tokens}"
        )
    prompts = [list(p)[-(n_ctx - settings.max_new_tokens) :] for p in prompts]
    batch = Batch(model, prompts, row_generators(seeds), settings, use_cache)
    results = [{"ids": [], "stop": "length"} for _ in prompts]
    for _ in range(settings.max_new_tokens):
        logits = batch.next_logits()  # [B,V]
        if settings.eot_bias:
            logits[:, eot_id] += settings.eot_bias
        tokens = pick_tokens(logits, settings, batch.generators).tolist()
        finished = []
        for row, token in enumerate(tokens):
            item = batch.items[row]
            if settings.stop_at_eot and token == eot_id:
                results[item]["stop"] = "eot"
                finished.append(row)
            else:
                results[item]["ids"].append(token)
        batch.advance(tokens, finished)
        if not batch.items:
            break
    return results


class Batch:
    """The running rows: left-padded context, key mask, positions and the KV cache."""

    def __init__(self, model, prompts, generators, settings, use_cache):
        device = model.wte.weight.device
        width = max(len(p) for p in prompts)
        slots = width + settings.max_new_tokens
        self.model, self.device, self.use_cache = model, device, use_cache
        self.items = list(range(len(prompts)))  # which prompt each row serves
        self.generators = list(generators)
        self.ids = torch.zeros(len(prompts), width, dtype=torch.long, device=device)  # [B,T]
        self.key_mask = torch.zeros(len(prompts), slots, dtype=torch.bool, device=device)  # [B,S]
        for row, prompt in enumerate(prompts):
            self.ids[row, width - len(prompt) :] = torch.tensor(prompt, device=device)
            self.key_mask[row, width - len(prompt) : width] = True
        self.positions = (self.key_mask[:, :width].long().cumsum(-1) - 1).clamp_(min=0)  # [B,T]
        self.length = width
        self.fresh = True
        self.cache = None
        if use_cache:
            dtype = model.wte.weight.dtype
            self.cache = KVCache(model.config, len(prompts), slots, device, dtype)

    def next_logits(self):
        """Last-position logits [B,V]: the whole prompt on the first step, then one token."""
        mask = self.key_mask[:, : self.length]
        if not self.use_cache:
            return self.run(self.ids, self.positions, mask, None)
        if self.fresh:
            self.fresh = False
            return self.prefill(mask)
        return self.run(self.ids[:, -1:], self.positions[:, -1:], mask, self.cache)

    def run(self, ids, positions, mask, cache):
        return self.model(ids, positions, mask, cache, last_only=True)[:, -1].float()  # [B,V]

    def prefill(self, mask):
        """The prompts' logits [B,V] and cache, each distinct prompt run once.

        The snippets stage sends one prompt for every id, so a batch of 64 rows would
        otherwise run the same long prompt 64 times; rows with the same prompt (and so the
        same padding) get copies of its keys and values instead.
        """
        key = torch.cat([self.ids, mask.long()], dim=1)  # [B,2T]
        distinct, rows = torch.unique(key, dim=0, return_inverse=True)  # [U,2T], [B]
        if len(distinct) == len(key):
            return self.run(self.ids, self.positions, mask, self.cache)
        first = torch.empty(len(distinct), dtype=torch.long, device=self.device)
        first[rows] = torch.arange(len(rows), device=self.device)  # a row of each prompt
        dtype = self.cache.keys[0].dtype
        cache = KVCache(self.model.config, len(distinct), self.cache.capacity, self.device, dtype)
        logits = self.run(self.ids[first], self.positions[first], mask[first], cache)  # [U,V]
        self.cache.copy_rows_from(cache, rows)
        return logits[rows]

    def advance(self, tokens, finished):
        """Appends this step's tokens, then drops the rows that finished."""
        new = torch.tensor(tokens, device=self.device)[:, None]  # [B,1]
        self.ids = torch.cat([self.ids, new], dim=1)
        self.positions = torch.cat([self.positions, self.positions[:, -1:] + 1], dim=1)
        self.key_mask[:, self.length] = True
        self.length += 1
        if finished:
            self.keep([row for row in range(len(self.items)) if row not in set(finished)])

    def keep(self, rows):
        self.items = [self.items[row] for row in rows]
        self.generators = [self.generators[row] for row in rows]
        if not rows:
            return
        index = torch.tensor(rows, device=self.device)
        self.ids, self.positions = self.ids[index], self.positions[index]
        self.key_mask = self.key_mask[index]
        if self.cache is not None:
            self.cache.keep_rows(index)
