"""MyST Markdown to plain Markdown, for the notebooks that Colab, Kaggle and Jupyter open.

The book's chapters are written in MyST (roles such as ``{cite}`key` `` and fenced directives
such as ```` ```{admonition} ````); plain notebook front ends show that markup as it is typed.
`to_markdown` rewrites one Markdown cell: citations become "(Author, year)" with a link,
admonitions a blockquote with a bold title, exercises a heading, definition lists a bulleted
list, and each glued number a placeholder ``{{name:format}}`` that `fill` replaces with the
value the notebook computed (see tools.edition, which turns such cells into code cells).
`myst_left` finds any role or directive that is left, for the test that guards the edition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from helpers.book import MISSING, PLACEHOLDER, fill  # noqa: F401 (used from here too)

# What counts as MyST that a plain front end would show as markup: a role, a directive fence,
# a target label line.
MYST_PATTERNS = {
    "role": re.compile(r"\{[A-Za-z][\w:.-]*\}`"),
    "directive": re.compile(r"^[ \t]*(?:`{3,}|~{3,}|:{3,})[ \t]*\{[\w:.-]+\}", re.M),
    "label": re.compile(r"^\([\w:.-]+\)=[ \t]*$", re.M),
}
ROLE = re.compile(r"\{(?P<role>[A-Za-z][\w:.-]*)\}`(?P<content>[^`]*)`")
OPENER = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,}|:{3,})[ \t]*"
                    r"\{(?P<name>[\w:.-]+)\}[ \t]*(?P<arg>.*)$")
TITLED = {"note": "Note", "tip": "Tip", "hint": "Hint", "important": "Important",
          "warning": "Warning", "caution": "Caution", "attention": "Attention",
          "danger": "Danger", "error": "Error", "seealso": "See also"}


@dataclass
class Context:
    """What the rewriting needs to know beyond the cell: references, labels, links."""

    citations: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # authors, year, url
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)  # label: title, chapter stem
    documents: dict[str, tuple[str, str]] = field(default_factory=dict)  # stem/path: title, url
    chapter: str = ""  # the stem of the notebook being rewritten
    exercises: int = 0  # exercises numbered so far in this chapter
    exercise_labels: dict[str, int] = field(default_factory=dict)


def myst_left(text: str) -> list[str]:
    """Every MyST role, directive fence or target label still in a piece of Markdown (code
    blocks and inline code are skipped: they show MyST as it is typed, on purpose)."""
    found: list[str] = []
    fences: list[tuple[str, bool]] = []  # open fences: (fence, is a code block)
    for line in text.splitlines():
        if fences and _closes(line, fences[-1][0]):
            fences.pop()
            continue
        if fences and fences[-1][1]:
            continue  # inside a code block
        opener = re.match(r"^[ \t]*(`{3,}|~{3,}|:{3,})(.*)$", line)
        if opener:
            directive = MYST_PATTERNS["directive"].match(line)
            if directive:
                found.append(directive.group(0).strip())
            fences.append((opener[1], not directive and opener[1][0] != ":"))
            continue
        if MYST_PATTERNS["label"].match(line):
            found.append(line.strip())
        bare = re.sub(r"``[^`]+``|(?<![}`])`[^`]+`", "", line)  # inline code, not a role's text
        found += [m.group(0) for m in MYST_PATTERNS["role"].finditer(bare)]
    return found


def _closes(line: str, fence: str) -> bool:
    """Whether a line closes a fence opened with `fence` (same character, at least as long)."""
    stripped = line.strip()
    return (len(stripped) >= len(fence) and set(stripped) == {fence[0]})


def _quote(title: str, body: str) -> str:
    """A blockquote with a bold title: how an admonition reads in plain Markdown."""
    lines = [f"> **{title}**", ">"] if title else []
    lines += [f"> {line}".rstrip() for line in body.strip("\n").splitlines()]
    return "\n".join(lines)


def _directive(name: str, arg: str, options: dict[str, str], body: str, ctx: Context) -> str:
    """One directive rewritten as plain Markdown (its body already rewritten)."""
    if name == "admonition":
        return _quote(arg or "Note", body)
    if name in TITLED:
        return _quote(TITLED[name], f"{arg}\n{body}" if arg else body)
    if name == "exercise":
        ctx.exercises += 1
        if "label" in options:
            ctx.exercise_labels[options["label"]] = ctx.exercises
        title = f"### Exercise {ctx.exercises}" + (f": {arg}" if arg else "")
        return f"{title}\n\n{body.strip()}"
    if name in ("solution-start", "solution-end"):
        return body.strip()
    if name == "solution":
        number = ctx.exercise_labels.get(arg)
        summary = f"Solution to exercise {number}" if number else "Solution"
        return f"<details>\n<summary><b>{summary}</b></summary>\n\n{body.strip()}\n\n</details>"
    if name in ("math", "equation"):
        return f"$$\n{body.strip()}\n$$"
    if name in ("code", "code-block", "code-cell", "sourcecode"):
        return f"```{arg}\n{body.strip()}\n```"
    if name in ("figure", "image"):
        caption = body.strip()
        return f"![{options.get('alt', caption or arg)}]({arg})" + (f"\n\n*{caption}*"
                                                                     if caption else "")
    if name in ("epigraph", "pull-quote", "highlights"):
        return _quote("", body)
    # Anything else (margin, sidebar, dropdown, topic, ...): a blockquote titled by its argument.
    return _quote(arg or name.replace("-", " ").capitalize(), body)


def _directives(text: str, ctx: Context) -> str:
    """Rewrite every fenced directive of a piece of Markdown, innermost first."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = OPENER.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        fence, j = match["fence"], i + 1
        options: dict[str, str] = {}
        while j < len(lines) and (option := re.match(r"^\s*:([\w-]+):\s*(.*)$", lines[j])):
            options[option[1]] = option[2].strip()
            j += 1
        body: list[str] = []
        while j < len(lines) and not _closes(lines[j], fence):
            body.append(lines[j])
            j += 1
        inner = _directives("\n".join(body), ctx)
        block = _directive(match["name"], match["arg"].strip(), options, inner, ctx)
        indent = match["indent"]
        out += [indent + line if line else line for line in block.splitlines()]
        i = j + 1
    return "\n".join(out)


def _cite(keys: str, ctx: Context, textual: bool = False) -> str:
    """"(Author, year)" for each key, linked: the reference list's own URL, else a search."""
    parts = []
    for key in (k.strip() for k in keys.split(",") if k.strip()):
        if key not in ctx.citations:
            raise KeyError(f"{ctx.chapter}: unknown citation key {key!r}")
        authors, year, url = ctx.citations[key]
        parts.append(f"[{authors} ({year})]({url})" if textual else f"[{authors}, {year}]({url})")
    return "; ".join(parts) if textual else f"({'; '.join(parts)})"


def _target(content: str) -> tuple[str | None, str]:
    """The explicit text and the target of a role written `text <target>` or `target`."""
    match = re.fullmatch(r"\s*(.*?)\s*<([^>]+)>\s*", content)
    return (match[1] or None, match[2]) if match else (None, content.strip())


def _ref(content: str, ctx: Context) -> str:
    """A cross-reference: the section's title, with a link when it is in another chapter."""
    text, label = _target(content)
    if label in ctx.exercise_labels:
        return text or f"exercise {ctx.exercise_labels[label]}"
    title, chapter = ctx.labels.get(label, (label, ctx.chapter))
    text = text or f"*{title}*"
    if chapter == ctx.chapter or chapter not in ctx.documents:
        return text
    chapter_title, url = ctx.documents[chapter]
    return f"{text} (in [{chapter_title}]({url}))"


def _doc(content: str, ctx: Context) -> str:
    """A link to another page: the plain edition of a chapter, or the book page's source."""
    text, target = _target(content)
    stem = target.rsplit("/", 1)[-1].removesuffix(".ipynb").removesuffix(".md")
    title, url = ctx.documents.get(stem, (stem.replace("-", " ").replace("_", " "), ""))
    text = text or title
    return f"[{text}]({url})" if url else text


def _role(match: re.Match, ctx: Context) -> str:
    """One role rewritten as plain Markdown."""
    role, content = match["role"], match["content"]
    if role.startswith("glue"):
        name, _, spec = content.partition(":")
        name = name.rsplit("::", 1)[-1]
        return "{{" + name + (f":{spec}" if spec else "") + "}}"
    if role in ("cite", "cite:p", "cite:ps", "cite:alp"):
        return _cite(content, ctx)
    if role in ("cite:t", "cite:ts", "cite:author"):
        return _cite(content, ctx, textual=True)
    if role in ("ref", "numref", "eq"):
        return _ref(content, ctx)
    if role == "doc":
        return _doc(content, ctx)
    if role == "math":
        return f"${content}$"
    if role in ("sub", "sup", "kbd"):
        return f"<{role}>{content}</{role}>"
    if role in ("code", "literal", "file", "command"):
        return f"`{content}`"
    if role == "term":  # a word of the glossary: linked to the glossary page
        text, term = _target(content)
        url = ctx.documents.get("glossary", ("", ""))[1]
        return f"[{text or term}]({url})" if url else (text or term)
    text, _ = _target(content)
    return text or _target(content)[1]


CODE_OR_ROLE = re.compile(r"(?P<fenced>^(?P<ticks>`{3,}|~{3,})(?![ \t]*\{)[^\n]*\n"
                          r".*?^(?P=ticks)[ \t]*$)|(?P<any_role>" + ROLE.pattern +
                          r")|(?P<code>``[^`\n]+``|`[^`\n]+`)",
                          re.M | re.S)


def _roles(text: str, ctx: Context) -> str:
    """Rewrite every role outside code spans and code blocks."""

    def one(match: re.Match) -> str:
        if match["any_role"] is None:
            return match.group(0)
        return _role(ROLE.fullmatch(match["any_role"]), ctx)

    return CODE_OR_ROLE.sub(one, text)


def _definition_lists(text: str) -> str:
    """MyST definition lists ("Term" then ": definition") as a bulleted list of bold terms."""
    lines = text.splitlines()
    out: list[str] = []
    for i, line in enumerate(lines):
        if line.startswith(": ") and i and lines[i - 1].strip() and out:
            term = out.pop() if out[-1] == lines[i - 1] and not out[-1].startswith("- **") \
                else None
            if term is None:  # a second definition of the same term
                out.append(f"  {line[2:]}")
                continue
            out.append(f"- **{term.strip()}**: {line[2:].strip()}")
        else:
            out.append(line)
    return "\n".join(out)


def _clean(text: str) -> str:
    """Drop target labels, block breaks and MyST comments; squeeze blank lines."""
    lines = [line for line in text.splitlines()
             if not MYST_PATTERNS["label"].match(line) and line.strip() != "+++"
             and not re.match(r"^%( |$)", line)]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def to_markdown(text: str, ctx: Context | None = None) -> str:
    """One Markdown cell of MyST rewritten as plain Markdown (glue as {{name:format}})."""
    ctx = ctx or Context()
    text = _clean(text)
    text = _definition_lists(text)
    text = _directives(text, ctx)
    return _roles(text, ctx)


def has_placeholders(text: str) -> bool:
    """Whether rewritten Markdown still needs glued values filled in."""
    return bool(PLACEHOLDER.search(text))


