"""The master spec's Markdown body as the blocks VSO reads: headings, top-level paragraphs and
bullet trees, each with its line. markdown-it finds them; a cache makes a changed spec cost only
its changed parts.

Tokenizing is most of a parse (0.08 s of 0.09 s for 1,000 components), and a change to a spec
usually touches a few bullets. So the body is cut into chunks where CommonMark must start a new
top-level block whatever came before: an ATX heading or a non-empty bullet at column 0, outside a
fenced code block or HTML comment. Each chunk's blocks are kept by its text, with lines relative to
the chunk, in `.slice-orchestrator/cache/` between processes; only chunks not seen before are
tokenized. From the first line a line scan cannot follow for sure (other HTML, an indented fence),
nothing more is cut: the rest is one chunk. Block parsing only looks forward, so the cuts before
that line stay right.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it import __version__ as markdown_it_version

# Lines that open a new top-level block in any context (outside a fence): cuts go before them.
# ("- - -" is a thematic break, which is such a line too.)
_CUT = re.compile(r"#{1,6}(?:[ \t]|$)|[-*+][ \t]+\S")
_NEWLINE = re.compile(r"\r\n?")
# A fence or an HTML comment at column 0 is always top-level: either interrupts a paragraph and is
# never a lazy continuation line. The comment ends exactly at the first line holding "-->".
_FENCE = re.compile(r"(`{3,}|~{3,})(.*)$")
_COMMENT = re.compile(r"<!--")
# What a line scan cannot follow for sure: other HTML, or an indented fence, which may sit in a
# list item (or close a top-level fence). No cut after one.
_INDENTED_FENCE = re.compile(r"[ \t]+(?:`{3}|~{3})")
_UNSURE = re.compile(rf" {{0,3}}<|{_INDENTED_FENCE.pattern}")


@dataclass
class Item:
    """A bullet: its own text and its nested bullets."""

    line: int
    text: str = ""
    children: list[Item] = field(default_factory=list)


@dataclass
class Heading:
    level: int
    key: str  # the title's letters, lower case: "API Endpoints" -> "apiendpoints"
    line: int


@dataclass
class Paragraph:
    text: str
    line: int


Block = Heading | Paragraph | Item


class BlockCache:
    """Chunk text -> its blocks, read from and written to one JSON file. Unreadable, or written by
    another version of this module or of markdown-it: empty. Losing it costs one full parse."""

    def __init__(self, path: Path | None = None):
        self.path = path
        self._chunks: dict[str, list] | None = None if path else {}
        self.used: dict[str, list] = {}
        self.missed = 0

    def get(self, text: str) -> list | None:
        if self._chunks is None:
            self._chunks = _read_cache(self.path)
        found = self._chunks.get(text)
        if not isinstance(found, list):
            return None
        self.used[text] = found
        return found

    def put(self, text: str, encoded: list) -> None:
        self.used[text] = encoded
        self.missed += 1

    def forget(self) -> None:
        """An entry did not decode: start over (the next save writes an empty cache)."""
        self._chunks, self.used, self.missed = {}, {}, self.missed + 1

    def to_json(self) -> str:
        """Only the chunks of the last parse: the file follows the spec instead of growing with it."""
        return json.dumps({"parser": _parser_fingerprint(), "chunks": self.used}, ensure_ascii=False)


@cache
def _parser_fingerprint() -> str:
    """This module's source and markdown-it's version: a cache from any other parser is not used."""
    return hashlib.sha256(Path(__file__).read_bytes() + markdown_it_version.encode()).hexdigest()


def _read_cache(path: Path) -> dict[str, list]:
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict) or raw.get("parser") != _parser_fingerprint():
        return {}
    chunks = raw.get("chunks")
    return chunks if isinstance(chunks, dict) else {}


def body_blocks(body: str, first_line: int, blocks_cache: BlockCache | None = None) -> list[Block]:
    """The body's blocks, with lines counted from `first_line` (the body's first line in the file)."""
    if blocks_cache is None:
        return _blocks(_parser().parse(body), first_line)
    lines = _lines(body)
    starts = _chunk_starts(lines)
    texts = ["".join(lines[a:b]) for a, b in zip(starts, starts[1:] + [len(lines)], strict=True)]
    found = [blocks_cache.get(text) for text in texts]
    for first, last in _missing_runs(found):
        # A run of new chunks is tokenized in one go, then its blocks are shared out by line.
        parsed = _blocks(_parser().parse("".join(texts[first:last])), 0)
        offsets = [starts[i] - starts[first] for i in range(first, last)]
        encoded: list[list] = [[] for _ in offsets]
        for block in parsed:
            index = bisect.bisect_right(offsets, block.line) - 1
            encoded[index].append(_encode(block, offsets[index]))
        for i, chunk in zip(range(first, last), encoded, strict=True):
            found[i] = chunk
            blocks_cache.put(texts[i], chunk)
    try:
        return [_decode(block, first_line + start) for start, chunk in zip(starts, found, strict=True)
                for block in chunk]
    except (IndexError, KeyError, TypeError, ValueError):
        blocks_cache.forget()
        return _blocks(_parser().parse(body), first_line)


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def markdown_lines(text: str) -> list[str]:
    """The text's lines as markdown-it numbers them ("\r\n", "\r" and "\n" end a line; "\x0c",
    "\u2028" and the others `str.splitlines` breaks at do not), each with its own line ending."""
    return _LINE.findall(text)


def _lines(body: str) -> list[str]:
    """Lines as markdown-it counts them: "\r\n" and "\r" end a line, "\u2028" and friends do not."""
    parts = _NEWLINE.sub("\n", body).split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _chunk_starts(lines: list[str]) -> list[int]:
    starts, fence, in_comment = [0], "", False
    for i, line in enumerate(lines):
        marker = _FENCE.match(line)
        if marker and marker[1][0] == "`" and "`" in marker[2]:
            marker = None  # a backtick in a backtick fence's info string: not a fence, a paragraph
        if fence:
            if _INDENTED_FENCE.match(line):
                break  # it may close the fence (up to 3 spaces are allowed), or not
            if marker and marker[1][0] == fence[0] and len(marker[1]) >= len(fence) and not marker[2].strip():
                fence = ""
        elif in_comment:
            in_comment = "-->" not in line
        elif marker:
            fence = marker[1]
        elif _COMMENT.match(line):
            in_comment = "-->" not in line
        elif _UNSURE.match(line):
            break
        elif i and _CUT.match(line):
            starts.append(i)
    return starts


def _missing_runs(found: list[list | None]) -> list[tuple[int, int]]:
    runs, start = [], None
    for i, chunk in enumerate(found + [[]]):
        if chunk is None and start is None:
            start = i
        elif chunk is not None and start is not None:
            runs.append((start, i))
            start = None
    return runs


@cache
def _parser() -> MarkdownIt:
    """CommonMark blocks only: VSO reads each inline token's raw text, never its parsed children,
    so the inline pass (half of the parse time) is skipped."""
    md = MarkdownIt("commonmark")
    md.core.ruler.disable(["inline", "text_join"])
    return md


def _blocks(tokens, first_line: int) -> list[Block]:
    """Flatten the token stream into headings, top-level paragraphs and list-item trees."""
    blocks: list[Block] = []
    stack: list[Item] = []
    for i, tok in enumerate(tokens):
        line = first_line + (tok.map[0] if tok.map else 0)
        if tok.type == "heading_open":
            blocks.append(Heading(int(tok.tag[1:]), _section_key(tokens[i + 1].content), line))
        elif tok.type == "list_item_open":
            stack.append(Item(line))
        elif tok.type == "list_item_close":
            item = stack.pop()
            (stack[-1].children if stack else blocks).append(item)
        elif tok.type == "inline" and tokens[i - 1].type == "paragraph_open":
            text = " ".join(tok.content.split())
            if stack:
                stack[-1].text = f"{stack[-1].text} {text}".strip()
            else:
                blocks.append(Paragraph(text, line))
    return blocks


def _section_key(title: str) -> str:
    return re.sub(r"[^a-z]", "", title.lower())


def _encode(block: Block, offset: int) -> list:
    if isinstance(block, Heading):
        return ["h", block.level, block.key, block.line - offset]
    if isinstance(block, Paragraph):
        return ["p", block.text, block.line - offset]
    return ["i", block.line - offset, block.text, [_encode(child, offset) for child in block.children]]


def _decode(raw: list, offset: int) -> Block:
    kind = raw[0]
    if kind == "h":
        return Heading(raw[1], raw[2], raw[3] + offset)
    if kind == "p":
        return Paragraph(raw[1], raw[2] + offset)
    return Item(raw[1] + offset, raw[2], [_decode(child, offset) for child in raw[3]])
