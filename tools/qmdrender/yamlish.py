"""A small YAML subset for front matter, `_quarto.yml` and `#|` chunk options (no PyYAML here).

Supported: block mappings and sequences (any nesting by indentation), sequences of mappings
(`- name: x` then `  id: y`), flow lists `[a, b]`, single/double-quoted strings, `|` and `>`
block scalars, `#` comments, and the scalars true/false/yes/no/null/~, integers and floats.
Anything else raises `YamlError` naming the 1-based line.
"""

from __future__ import annotations

import re


class YamlError(ValueError):
    """Malformed YAML; `.line` is the 1-based line within the parsed text."""

    def __init__(self, message: str, line: int):
        super().__init__(f"line {line}: {message}")
        self.line = line


_KEY = re.compile(r"^(?P<key>[^\s#'\"\[\]{}][^:#]*?|\"[^\"]*\"|'[^']*')\s*:(?:\s+|$)(?P<rest>.*)$")


def _strip_comment(text: str) -> str:
    """Drop a trailing `# comment` that is outside quotes."""
    quote = None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i].rstrip()
    return text.rstrip()


def _split_flow(text: str) -> list[str]:
    """Split the inside of a flow list on top-level commas."""
    items, depth, quote, cur = [], 0, None, ""
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(cur.strip())
            cur = ""
            continue
        cur += ch
    if cur.strip():
        items.append(cur.strip())
    return items


def scalar(text: str, line: int = 1):
    """Convert one YAML scalar (or flow list) to Python."""
    text = text.strip()
    if text == "":
        return None
    if text[0] == '"':
        if len(text) < 2 or not text.endswith('"'):
            raise YamlError(f"unterminated string {text!r}", line)
        return bytes(text[1:-1], "utf-8").decode("unicode_escape") if "\\" in text else text[1:-1]
    if text[0] == "'":
        if len(text) < 2 or not text.endswith("'"):
            raise YamlError(f"unterminated string {text!r}", line)
        return text[1:-1].replace("''", "'")
    if text[0] == "[":
        if not text.endswith("]"):
            raise YamlError(f"unterminated list {text!r}", line)
        return [scalar(item, line) for item in _split_flow(text[1:-1])]
    if text[0] == "{":
        raise YamlError("flow mappings {...} are not supported; use an indented block", line)
    low = text.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("null", "~"):
        return None
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    if re.fullmatch(r"[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?", text):
        return float(text)
    return text


def loads(text: str, first_line: int = 1):
    """Parse `text`; line numbers in errors are offset so that `text` starts at `first_line`."""
    lines = []
    for i, raw in enumerate(text.splitlines()):
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise YamlError("tabs are not allowed for indentation", first_line + i)
        lines.append((first_line + i, raw))
    value, pos = _block(lines, 0, -1)
    while pos < len(lines):
        if _strip_comment(lines[pos][1]).strip():
            raise YamlError("unexpected indentation", lines[pos][0])
        pos += 1
    return {} if value is None else value


def _next_content(lines, pos):
    while pos < len(lines) and not _strip_comment(lines[pos][1]).strip():
        pos += 1
    return pos


def _indent(raw: str) -> int:
    return len(raw) - len(raw.lstrip(" "))


def _block(lines, pos, parent_indent):
    """Parse the block starting at the next content line deeper than `parent_indent`."""
    pos = _next_content(lines, pos)
    if pos >= len(lines) or _indent(lines[pos][1]) <= parent_indent:
        return None, pos
    indent = _indent(lines[pos][1])
    if lines[pos][1].lstrip().startswith("- ") or lines[pos][1].strip() == "-":
        return _sequence(lines, pos, indent)
    return _mapping(lines, pos, indent)


def _mapping(lines, pos, indent, first_text=None):
    result = {}
    while True:
        pos = _next_content(lines, pos) if first_text is None else pos
        if pos >= len(lines):
            return result, pos
        lineno, raw = lines[pos]
        if first_text is None:
            if _indent(raw) < indent:
                return result, pos
            if _indent(raw) > indent:
                raise YamlError("unexpected indentation", lineno)
            text = _strip_comment(raw).strip()
        else:
            text, first_text = first_text, None
        if text.startswith("- "):
            return result, pos
        m = _KEY.match(text)
        if not m:
            raise YamlError(f"expected 'key: value', got {text!r}", lineno)
        key = scalar(m.group("key"), lineno) if m.group("key")[0] in "'\"" else m.group("key")
        rest = m.group("rest").strip()
        if key in result:
            raise YamlError(f"duplicate key {key!r}", lineno)
        if rest in ("|", ">", "|-", ">-"):
            result[key], pos = _block_scalar(lines, pos + 1, indent, rest)
        elif rest:
            result[key], pos = scalar(rest, lineno), pos + 1
        else:
            result[key], pos = _block(lines, pos + 1, indent)
            if result[key] is None and pos < len(lines) and _indent(lines[pos][1]) == indent \
                    and lines[pos][1].lstrip().startswith("- "):
                result[key], pos = _sequence(lines, pos, indent)


def _sequence(lines, pos, indent):
    result = []
    while True:
        pos = _next_content(lines, pos)
        if pos >= len(lines):
            return result, pos
        lineno, raw = lines[pos]
        text = _strip_comment(raw).strip()
        if _indent(raw) != indent or not (text.startswith("- ") or text == "-"):
            if _indent(raw) > indent:
                raise YamlError("unexpected indentation", lineno)
            return result, pos
        item = text[1:].strip()
        if not item:
            value, pos = _block(lines, pos + 1, indent)
        elif _KEY.match(item) and item[0] not in "[\"'":
            gap = len(text[1:]) - len(text[1:].lstrip())
            value, pos = _mapping(lines, pos, indent + 1 + gap, first_text=item)
        else:
            value, pos = scalar(item, lineno), pos + 1
        result.append(value)


def _block_scalar(lines, pos, parent_indent, style):
    body, indent = [], None
    while pos < len(lines):
        raw = lines[pos][1]
        if raw.strip() and _indent(raw) <= parent_indent:
            break
        if raw.strip() and indent is None:
            indent = _indent(raw)
        body.append(raw[indent:] if indent is not None else "")
        pos += 1
    while body and not body[-1].strip():
        body.pop()
    text = "\n".join(body) if style.startswith("|") else " ".join(s.strip() for s in body)
    return (text if style.endswith("-") else text + "\n"), pos
