"""GPT-2 sampling throughput: the twdne sampler (batched, KV cache) against the old loop.

The old tooling sampled one text at a time and recomputed the whole context for every new
token. Both paths run here in one process, on the same random 124M-sized GPT-2 (n_layer 12,
n_head 12, n_embd 768, vocab 50257, n_ctx 1024), with the same prompt, number of new tokens
and filters (temperature 0.7, top_k 40), so the figure that matters is their ratio:

    /usr/bin/python3 bench/gpt2_sampler.py [--batch 16] [--prompt-tokens N] [--new-tokens 64]

The prompt is the one `twdne snippets --backend gpt2` sends, data/prompts/anime-keywords.txt
in GPT-2's BPE (from --vocab), or --prompt-tokens random ids.

Runs on CUDA when torch sees it, else on the CPU with every core. The baseline draws fewer
samples; its tokens/s is per token. On the CPU, torch's matmuls go through the system BLAS:
Debian's reference libblas is about 30x slower than OpenBLAS (libopenblas0-pthread), which
slows both sides alike.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

from twdne.text.bpe import BPETokenizer
from twdne.text.gpt2 import GPT2, GPT2Config
from twdne.text.sampler import SampleSettings, generate

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
EOT = 50256


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16, help="prompts per twdne batch")
    parser.add_argument(
        "--prompt-file", type=Path, default=ROOT / "data/prompts/anime-keywords.txt"
    )
    parser.add_argument("--vocab", type=Path, default=ROOT.parent / "shared/fixtures/gpt2",
                        help="folder of encoder.json and vocab.bpe")  # fmt: skip
    parser.add_argument("--prompt-tokens", type=int, default=0, help="random prompt ids instead")
    parser.add_argument("--new-tokens", type=int, default=64, help="max_new_tokens per sample")
    parser.add_argument("--baseline-samples", type=int, default=1, help="samples for the old loop")
    parser.add_argument(
        "--baseline-tokens",
        type=int,
        default=None,
        help="new tokens per old-loop sample (default: as many as the twdne side)",
    )
    return parser.parse_args()


def random_gpt2():
    """124M-sized GPT-2 with GPT-2's init scale (std 0.02), on DEVICE, in eval mode."""
    torch.manual_seed(0)
    model = GPT2(GPT2Config(n_vocab=50257, n_ctx=1024, n_embd=768, n_head=12, n_layer=12))
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() > 1:
                parameter.normal_(0.0, 0.02)
    return model.to(DEVICE).eval()


def gflop_per_new_token(prompt, new, rows_per_prompt=None):
    """Matmul work per new token of the 124M model: blocks for every position computed, plus
    the output head once (attention over the context is small here and left out).

    rows_per_prompt: with a KV cache, how many rows share one prefill of the prompt; None for
    the old loop, which runs the whole context every step."""
    blocks, head = 2 * 12 * 12 * 768**2 / 1e9, 2 * 768 * 50257 / 1e9
    if rows_per_prompt is None:
        return blocks * (prompt + (new + 1) / 2) + head
    return blocks * (prompt / rows_per_prompt + new) / new + head


def prompt_ids(args):
    """(ids, where they came from): the prompt file in GPT-2's BPE, or random ids."""
    if args.prompt_tokens:
        generator = torch.Generator().manual_seed(1)
        ids = torch.randint(0, EOT, (args.prompt_tokens,), generator=generator).tolist()
        return ids, "random ids"
    tokenizer = BPETokenizer.from_folder(args.vocab)
    return tokenizer.encode(args.prompt_file.read_text()), args.prompt_file.name


def timed(fn):
    if DEVICE == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = fn()
    if DEVICE == "cuda":
        torch.cuda.synchronize()
    return result, time.perf_counter() - start


def tokens_per_second(model, prompts, settings, use_cache, batch):
    """(new tokens per second, tokens made) for sampling every prompt, `batch` rows at a time."""

    def run():
        made = 0
        for start in range(0, len(prompts), batch):
            group = prompts[start : start + batch]
            seeds = range(start, start + len(group))
            outputs = generate(model, group, seeds, settings, EOT, use_cache=use_cache)
            made += sum(len(o["ids"]) for o in outputs)
        return made

    made, seconds = timed(run)
    return made / seconds, made


def main():
    args = parse_args()
    if DEVICE == "cpu":
        torch.set_num_threads(os.cpu_count() or 1)
    model = random_gpt2()
    settings = SampleSettings(
        temperature=0.7, top_k=40, max_new_tokens=args.new_tokens, stop_at_eot=False
    )
    prompt, source = prompt_ids(args)
    prompts = [prompt] * args.batch  # one prompt for every id, as the snippets stage sends it;
    # the sampler prefills it once per batch
    print(f"device {DEVICE}, threads {torch.get_num_threads()}, torch {torch.__version__}")
    print(
        f"prompt {len(prompt)} tokens ({source}), {args.new_tokens} new tokens, "
        "temperature 0.7, top_k 40"
    )

    # Warm-up, so neither side pays for first-call allocation
    generate(
        model,
        prompts[:2],
        [0, 1],
        SampleSettings(max_new_tokens=2, stop_at_eot=False),
        EOT,
    )

    fast, made = tokens_per_second(model, prompts, settings, use_cache=True, batch=args.batch)
    print(f"twdne sampler  (batch {args.batch}, KV cache):   {fast:8.1f} tokens/s ({made} tokens)")
    baseline_prompts = prompts[: args.baseline_samples]
    baseline_tokens = args.baseline_tokens or args.new_tokens
    baseline = SampleSettings(
        temperature=0.7, top_k=40, max_new_tokens=baseline_tokens, stop_at_eot=False
    )
    slow, made = tokens_per_second(model, baseline_prompts, baseline, use_cache=False, batch=1)
    print(f"old loop       (batch 1, whole context):  {slow:8.1f} tokens/s ({made} tokens)")
    print(f"ratio: {fast / slow:.1f}x (target >= 20x)")
    cached = gflop_per_new_token(len(prompt), args.new_tokens, args.batch)
    recomputed = gflop_per_new_token(len(prompt), baseline_tokens)
    print(
        f"matmul work per new token: twdne {cached:.2f} GFLOP, old loop {recomputed:.2f} GFLOP "
        f"({recomputed / cached:.1f}x; a compute-bound device can gain no more than this, "
        "batching adds to it where it fills idle units)"
    )


if __name__ == "__main__":
    main()
