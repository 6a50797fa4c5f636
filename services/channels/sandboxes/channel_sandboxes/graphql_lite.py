"""A small GraphQL document parser: enough of the language for what connectors send Shopify.

The Shopify sandbox must answer with exactly the fields a connector asked for (a connector that
forgets to select `inventoryItem { id }` must not get it for free), report unknown fields the way a
real GraphQL server does, and price a query the way Shopify's cost calculator does. That needs the
selection tree, so we parse the document properly; execution and typing live in `shopify.schema`.

Supported: operations (query/mutation, named or anonymous, variable definitions with defaults),
fields with aliases and arguments, nested selections, fragment definitions and spreads, inline
fragments, directives (`@include`/`@skip` are applied; others such as `@idempotent` are accepted),
and all literal value kinds. Not supported: subscriptions' semantics, schema introspection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


class GraphQLSyntaxError(Exception):
    """Raised for a document that is not valid GraphQL; the server answers with a parse error."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Variable:
    name: str


@dataclass(frozen=True)
class EnumValue:
    value: str


@dataclass
class Directive:
    name: str
    arguments: dict[str, Any]


@dataclass
class Field:
    name: str
    alias: str | None
    arguments: dict[str, Any]
    directives: list[Directive]
    selections: list[Selection]
    line: int
    column: int

    @property
    def response_key(self) -> str:
        return self.alias or self.name


@dataclass
class FragmentSpread:
    name: str
    directives: list[Directive]


@dataclass
class InlineFragment:
    type_condition: str | None
    directives: list[Directive]
    selections: list[Selection]


Selection = Field | FragmentSpread | InlineFragment


@dataclass
class VariableDefinition:
    name: str
    type: str
    default: Any = None
    has_default: bool = False


@dataclass
class Operation:
    kind: str  # "query" or "mutation"
    name: str | None
    variables: list[VariableDefinition]
    selections: list[Selection]


@dataclass
class Fragment:
    name: str
    type_condition: str
    selections: list[Selection]


@dataclass
class Document:
    operations: list[Operation] = field(default_factory=list)
    fragments: dict[str, Fragment] = field(default_factory=dict)

    def operation(self, name: str | None) -> Operation:
        """Pick the operation to run, with GraphQL's rules for `operationName`."""
        if name:
            for op in self.operations:
                if op.name == name:
                    return op
            raise GraphQLSyntaxError(f'No operation named "{name}"')
        if len(self.operations) != 1:
            raise GraphQLSyntaxError("An operation name is required when the document has several operations")
        return self.operations[0]


_TOKEN = re.compile(
    r"""
    (?P<ws>[\s,\ufeff]+|\#[^\n\r]*)
  | (?P<block>\"\"\"(?:\\\"\"\"|[^"]|"(?!""))*\"\"\")
  | (?P<string>"(?:\\.|[^"\\\n])*")
  | (?P<spread>\.\.\.)
  | (?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
  | (?P<name>[_A-Za-z][_0-9A-Za-z]*)
  | (?P<punct>[!$&():=@\[\]{}|])
    """,
    re.VERBOSE,
)

_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _unescape(raw: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            if nxt == "u":
                out.append(chr(int(raw[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


@dataclass
class _Token:
    kind: str
    value: str
    line: int
    column: int


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    line, line_start = 1, 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None:
            raise GraphQLSyntaxError(f"Unexpected character {source[pos]!r}", line, pos - line_start + 1)
        kind = match.lastgroup or ""
        text = match.group()
        if kind != "ws":
            tokens.append(_Token(kind, text, line, pos - line_start + 1))
        newlines = text.count("\n")
        if newlines:
            line += newlines
            line_start = pos + text.rfind("\n") + 1
        pos = match.end()
    tokens.append(_Token("eof", "", line, pos - line_start + 1))
    return tokens


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokenize(source)
        self.pos = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.pos]

    def fail(self, message: str) -> GraphQLSyntaxError:
        tok = self.tok
        shown = tok.value or "end of document"
        return GraphQLSyntaxError(f"{message}, got {shown!r}", tok.line, tok.column)

    def peek(self, value: str) -> bool:
        return self.tok.value == value and self.tok.kind in ("punct", "spread", "name")

    def expect(self, value: str) -> _Token:
        if not self.peek(value):
            raise self.fail(f"Expected {value!r}")
        return self.advance()

    def advance(self) -> _Token:
        tok = self.tok
        self.pos += 1
        return tok

    def name(self) -> str:
        if self.tok.kind != "name":
            raise self.fail("Expected a name")
        return self.advance().value

    def document(self) -> Document:
        doc = Document()
        if self.tok.kind == "eof":
            raise self.fail("Expected a query")
        while self.tok.kind != "eof":
            if self.peek("{"):
                doc.operations.append(Operation("query", None, [], self.selection_set()))
            elif self.peek("fragment"):
                self.advance()
                name = self.name()
                self.expect("on")
                type_condition = self.name()
                self.directives()
                doc.fragments[name] = Fragment(name, type_condition, self.selection_set())
            elif self.tok.kind == "name" and self.tok.value in ("query", "mutation", "subscription"):
                kind = self.advance().value
                op_name = self.name() if self.tok.kind == "name" else None
                variables = self.variable_definitions() if self.peek("(") else []
                self.directives()
                doc.operations.append(Operation(kind, op_name, variables, self.selection_set()))
            else:
                raise self.fail("Expected an operation or fragment definition")
        return doc

    def variable_definitions(self) -> list[VariableDefinition]:
        self.expect("(")
        out: list[VariableDefinition] = []
        while not self.peek(")"):
            self.expect("$")
            name = self.name()
            self.expect(":")
            type_ref = self.type_ref()
            definition = VariableDefinition(name, type_ref)
            if self.peek("="):
                self.advance()
                definition.default = self.value(const=True)
                definition.has_default = True
            self.directives()
            out.append(definition)
        self.expect(")")
        return out

    def type_ref(self) -> str:
        if self.peek("["):
            self.advance()
            inner = self.type_ref()
            self.expect("]")
            text = f"[{inner}]"
        else:
            text = self.name()
        if self.peek("!"):
            self.advance()
            text += "!"
        return text

    def directives(self) -> list[Directive]:
        out: list[Directive] = []
        while self.peek("@"):
            self.advance()
            name = self.name()
            out.append(Directive(name, self.arguments() if self.peek("(") else {}))
        return out

    def arguments(self) -> dict[str, Any]:
        self.expect("(")
        args: dict[str, Any] = {}
        while not self.peek(")"):
            key = self.name()
            self.expect(":")
            args[key] = self.value(const=False)
        self.expect(")")
        return args

    def selection_set(self) -> list[Selection]:
        self.expect("{")
        selections: list[Selection] = []
        while not self.peek("}"):
            if self.tok.kind == "eof":
                raise self.fail("Expected '}'")
            selections.append(self.selection())
        self.expect("}")
        if not selections:
            raise self.fail("A selection set cannot be empty")
        return selections

    def selection(self) -> Selection:
        if self.tok.kind == "spread":
            self.advance()
            if self.peek("on"):
                self.advance()
                type_condition = self.name()
                directives = self.directives()
                return InlineFragment(type_condition, directives, self.selection_set())
            if self.peek("{") or self.peek("@"):
                directives = self.directives()
                return InlineFragment(None, directives, self.selection_set())
            name = self.name()
            return FragmentSpread(name, self.directives())
        start = self.tok
        first = self.name()
        alias = None
        if self.peek(":"):
            self.advance()
            alias, first = first, self.name()
        arguments = self.arguments() if self.peek("(") else {}
        directives = self.directives()
        selections = self.selection_set() if self.peek("{") else []
        return Field(first, alias, arguments, directives, selections, start.line, start.column)

    def value(self, const: bool) -> Any:
        tok = self.tok
        if tok.kind == "punct" and tok.value == "$":
            if const:
                raise self.fail("Variables are not allowed here")
            self.advance()
            return Variable(self.name())
        if tok.kind == "number":
            self.advance()
            text = tok.value
            return float(text) if any(c in text for c in ".eE") else int(text)
        if tok.kind == "string":
            self.advance()
            return _unescape(tok.value[1:-1])
        if tok.kind == "block":
            self.advance()
            return tok.value[3:-3].replace('\\"""', '"""').strip()
        if tok.kind == "name":
            self.advance()
            if tok.value == "true":
                return True
            if tok.value == "false":
                return False
            if tok.value == "null":
                return None
            return EnumValue(tok.value)
        if self.peek("["):
            self.advance()
            items = []
            while not self.peek("]"):
                items.append(self.value(const))
            self.advance()
            return items
        if self.peek("{"):
            self.advance()
            obj: dict[str, Any] = {}
            while not self.peek("}"):
                key = self.name()
                self.expect(":")
                obj[key] = self.value(const)
            self.advance()
            return obj
        raise self.fail("Expected a value")


def parse(source: str) -> Document:
    """Parse a GraphQL document; raises GraphQLSyntaxError with a line/column on bad input."""
    return _Parser(source).document()


def resolve_value(value: Any, variables: dict[str, Any]) -> Any:
    """Substitute variables into an argument value; enum literals become their names."""
    if isinstance(value, Variable):
        return variables.get(value.name)
    if isinstance(value, EnumValue):
        return value.value
    if isinstance(value, list):
        return [resolve_value(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: resolve_value(v, variables) for k, v in value.items()}
    return value


def included(directives: list[Directive], variables: dict[str, Any]) -> bool:
    """Apply @skip/@include, which every GraphQL server must honour."""
    for directive in directives:
        condition = bool(resolve_value(directive.arguments.get("if"), variables))
        if directive.name == "skip" and condition:
            return False
        if directive.name == "include" and not condition:
            return False
    return True
