"""GPT-2's byte-level BPE tokenizer, read from encoder.json + vocab.bpe.

A literal ``<|endoftext|>`` in a prompt is encoded as plain text by default (seven ordinary
tokens), as OpenAI's encoder does: a user's prompt can never smuggle in a document boundary.
``encode(text, eot_is_special=True)`` gives the tiktoken / Hugging Face behaviour instead,
where each literal occurrence becomes the single id 50256. Decoding always writes id 50256
back as the literal string, and replaces invalid UTF-8 (a cut multi-byte character) with
U+FFFD.

GPT-2 splits text into chunks with a regular expression built on the Unicode classes
``\\p{L}`` (letters) and ``\\p{N}`` (numbers), which Python's ``re`` lacks; `pretokenize`
scans the text by hand with the same alternation order and backtracking outcome.
"""

import json
import unicodedata
from pathlib import Path

from ..errors import ModelFileError

EOT = "<|endoftext|>"
CONTRACTIONS = ("s", "t", "re", "ve", "m", "ll", "d")

# The Unicode White_Space property, which is what `\s` means to the regex engines GPT-2's
# pattern was written for (Python's str.isspace also accepts U+001C..U+001F, which they don't).
WHITE_SPACE = frozenset(
    [chr(c) for c in range(0x09, 0x0E)]
    + [" ", "\x85", "\xa0", "\u1680", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
    + [chr(c) for c in range(0x2000, 0x200B)]
)


def bytes_to_unicode():
    """byte -> printable character, so every byte string is a string with no spaces or controls.

    Printable Latin-1 bytes stand for themselves; the 68 others are shifted to U+0100 and up.
    """
    keep = list(range(ord("!"), ord("~") + 1))
    keep += list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    table, shifted = {}, 0
    for byte in range(256):
        if byte in keep:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + shifted)
            shifted += 1
    return table


def char_class(ch):
    """'s' (space), 'L' (letter), 'N' (number) or 'o' (anything else) for the pre-tokenizer."""
    if ch in WHITE_SPACE:
        return "s"
    category = unicodedata.category(ch)[0]
    return category if category in ("L", "N") else "o"


def pretokenize(text):
    """GPT-2's chunks of `text`, as its regular expression would find them.

    The pattern is
        's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+
    tried left to right at each position; each branch is a function returning the match end.
    """
    classes = [char_class(ch) for ch in text]
    chunks, start = [], 0
    while start < len(text):
        end = match_at(text, classes, start)
        chunks.append(text[start:end])
        start = end
    return chunks


def match_at(text, classes, i):
    """The end of the first branch of GPT-2's pattern that matches at position i."""
    if text[i] == "'":
        for tail in CONTRACTIONS:
            if text.startswith(tail, i + 1):
                return i + 1 + len(tail)
    # ` ?X+` for X in letters, numbers, other: the optional space is the literal U+0020
    body = i + 1 if text[i] == " " and i + 1 < len(text) else i
    for kind in ("L", "N", "o"):
        for first in (body, i) if body != i else (i,):
            end = run_end(classes, first, kind)
            if end > first:
                return end
    # `\s+(?!\S)`: a space run, giving its last character back when a non-space follows
    end = run_end(classes, i, "s")
    if end < len(text) and end - 1 > i:
        return end - 1
    return end


def run_end(classes, i, kind):
    """The end of the run of characters of class `kind` starting at i (i itself if none)."""
    while i < len(classes) and classes[i] == kind:
        i += 1
    return i


class BPETokenizer:
    """Text <-> GPT-2 token ids. `encoder` maps BPE strings to ids, `merges` lists pairs by rank."""

    def __init__(self, encoder, merges):
        self.encoder = encoder
        self.decoder = {i: token for token, i in encoder.items()}
        self.ranks = {pair: rank for rank, pair in enumerate(merges)}
        self.byte_encoder = bytes_to_unicode()
        self.byte_decoder = {ch: byte for byte, ch in self.byte_encoder.items()}
        self.eot_id = encoder.get(EOT)
        self.cache = {}

    @classmethod
    def from_folder(cls, folder):
        """Reads encoder.json and vocab.bpe from `folder`; a missing or bad file is named."""
        folder = Path(folder)
        return cls(read_encoder(folder / "encoder.json"), read_merges(folder / "vocab.bpe"))

    @property
    def vocab_size(self):
        return len(self.encoder)

    def encode(self, text, eot_is_special=False):
        """Token ids of `text`; see the module docstring for what `eot_is_special` changes."""
        if not eot_is_special or self.eot_id is None:
            return self.encode_plain(text)
        ids = []
        for index, part in enumerate(text.split(EOT)):
            if index:
                ids.append(self.eot_id)
            ids.extend(self.encode_plain(part))
        return ids

    def encode_plain(self, text):
        ids = []
        for chunk in pretokenize(text):
            mapped = "".join(self.byte_encoder[b] for b in chunk.encode("utf-8"))
            ids.extend(self.encoder[token] for token in self.bpe(mapped))
        return ids

    def decode(self, ids):
        """The text of `ids`; bytes that are not valid UTF-8 become U+FFFD."""
        mapped = "".join(self.decoder[int(i)] for i in ids)
        data = bytes(self.byte_decoder[ch] for ch in mapped)
        return data.decode("utf-8", errors="replace")

    def bpe(self, chunk):
        """The BPE tokens of one mapped chunk: merge the lowest-ranked adjacent pair until none."""
        if chunk in self.cache:
            return self.cache[chunk]
        parts = list(chunk)
        while len(parts) > 1:
            pairs = [(self.ranks.get(pair), k) for k, pair in enumerate(zip(parts, parts[1:]))]
            ranked = [(rank, k) for rank, k in pairs if rank is not None]
            if not ranked:
                break
            best = parts[min(ranked)[1]], parts[min(ranked)[1] + 1]
            parts = merge_pair(parts, best)
        if len(self.cache) < 100_000:
            self.cache[chunk] = parts
        return parts


def merge_pair(parts, pair):
    """`parts` with every non-overlapping occurrence of `pair`, left to right, joined into one."""
    merged, k = [], 0
    while k < len(parts):
        if k + 1 < len(parts) and (parts[k], parts[k + 1]) == pair:
            merged.append(parts[k] + parts[k + 1])
            k += 2
        else:
            merged.append(parts[k])
            k += 1
    return merged


def read_encoder(path):
    try:
        encoder = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(path, "GPT-2's encoder.json", "a path that does not exist") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFileError(path, "a JSON object of token -> id", f"unreadable JSON ({exc})")
    if not isinstance(encoder, dict) or not all(isinstance(v, int) for v in encoder.values()):
        raise ModelFileError(path, "a JSON object of token -> id", f"a {type(encoder).__name__}")
    return encoder


def read_merges(path):
    try:
        lines = Path(path).read_text(encoding="utf-8").split("\n")
    except FileNotFoundError:
        raise ModelFileError(path, "GPT-2's vocab.bpe", "a path that does not exist") from None
    merges = []
    for number, line in enumerate(lines[1:] if lines[0].startswith("#") else lines, start=2):
        if not line.strip():
            continue
        pair = tuple(line.split(" "))
        if len(pair) != 2:
            raise ModelFileError(path, "one merge 'a b' per line", f"line {number}: {line[:40]!r}")
        merges.append(pair)
    return merges
