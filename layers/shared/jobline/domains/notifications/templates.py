"""E-mail templates: a registry of named subject/text/html templates with `$name` placeholders.

Substitution is `string.Template`: a placeholder is looked up in the variables and
nothing else. Unlike `str.format` there is no attribute access, indexing or expression,
so neither a template nor a caller's variable can reach an object or run code.
"""

from __future__ import annotations

import dataclasses
import html
import string
from collections.abc import Mapping
from html.parser import HTMLParser

from jobline.core.errors import JoblineError

Scalar = str | int | float | bool


class TemplateError(JoblineError):
    """A template that does not exist, or variables that do not fill it."""


@dataclasses.dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str | None


@dataclasses.dataclass(frozen=True)
class EmailTemplate:
    """One named e-mail: subject, plain text and optional HTML, each a `string.Template` source."""

    name: str
    subject: str
    text: str
    html: str | None = None

    def sources(self) -> list[str]:
        return [s for s in (self.subject, self.text, self.html) if s is not None]

    def placeholders(self) -> frozenset[str]:
        """The variable names the template needs."""
        return frozenset(name for source in self.sources() for name in string.Template(source).get_identifiers())

    def render(self, variables: Mapping[str, Scalar]) -> RenderedEmail:
        """The e-mail with `variables` filled in; values are HTML-escaped in the HTML part."""
        missing = sorted(self.placeholders() - variables.keys())
        if missing:
            raise TemplateError(f"template {self.name!r} needs the variables: {', '.join(missing)}")
        values = {key: _as_text(value) for key, value in variables.items()}
        # A subject is one header line: a value must not break it.
        one_line = {key: " ".join(value.split()) for key, value in values.items()}
        escaped = {key: html.escape(value) for key, value in values.items()}
        return RenderedEmail(
            subject=string.Template(self.subject).substitute(one_line),
            text=string.Template(self.text).substitute(values),
            html=string.Template(self.html).substitute(escaped) if self.html is not None else None,
        )


def _as_text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


_TEMPLATES: dict[str, EmailTemplate] = {}


def register_template(name: str, *, subject: str, text: str, html: str | None = None) -> EmailTemplate:
    """Add a template under `name`; a malformed placeholder is refused here, not at send time."""
    template = EmailTemplate(name=name, subject=subject, text=text, html=html)
    for source in template.sources():
        if not string.Template(source).is_valid():
            raise ValueError(f"template {name!r} has a malformed placeholder in {source!r}")
    if name in _TEMPLATES and _TEMPLATES[name] != template:
        raise ValueError(f"template {name!r} is registered twice")
    _TEMPLATES[name] = template
    return template


def get_template(name: str) -> EmailTemplate:
    """The template called `name`; TemplateError if there is none."""
    try:
        return _TEMPLATES[name]
    except KeyError:
        raise TemplateError(f"unknown template {name!r}; known: {', '.join(sorted(_TEMPLATES))}") from None


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML document, one line per block element."""

    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"})
    _HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(source: str) -> str:
    """A plain-text rendering of `source`, for the text part of an HTML-only e-mail."""
    extractor = _TextExtractor()
    extractor.feed(source)
    extractor.close()
    lines = (" ".join(line.split()) for line in "".join(extractor.parts).splitlines())
    return "\n".join(line for line in lines if line)


register_template(
    "welcome",
    subject="Welcome to $product, $name",
    text="Hello $name,\n\nyour $product account is ready.\n\nThe $product team",
    html="<p>Hello $name,</p><p>your <b>$product</b> account is ready.</p><p>The $product team</p>",
)
register_template(
    "notification",
    subject="$title",
    text="$message",
    html="<h1>$title</h1><p>$message</p>",
)
