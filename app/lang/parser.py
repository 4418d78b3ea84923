"""Parses a program and builds its graph in the same pass; nothing is ever evaluated by Python.

Recursive descent over the tokens, with Python's precedence:

    statement := NAME '=' expr | expr
    expr      := prefix (binary-operator expr)*      with Python's precedence, by climbing
    prefix    := ('-' | '+') expr | atom ('.T')*
    atom      := NUMBER | NAME | NAME '(' arguments ')' | '(' expr ')' | '(' literal, ... ')'

Only what this grammar names is accepted: a whitelist. Everything else (attributes other than
.T, subscripts, lambdas, comprehensions, strings, imports, walrus, starred, comparisons) stops
the parse with an error that points at it. The one string allowed is a keyword value of a
parameter the op table declares as an enum (`reduction="sum"`), checked against its choices.

With `expand`, a call of a composite op (one with a decomposition in the op table) is built as
the primitives it is made of instead of one node: see app/engine/expand.py.

Left-associative chains are loops, so `x + x + ... + x` of any length never recurses deeper.
Nesting (parentheses, calls, unary minus, `**`) recurses and is bounded by Limits.max_nesting,
well inside Python's recursion limit.

A parsed piece is a *term*, the tuple (node, literal, start, end): `node` is a graph node id, or
-1 for a literal that is not (yet) a node. Numbers become constant nodes when used as operands;
tuples, True, False and None only ever serve as op parameters (axis=(0, 1), keepdims=True).

A long program is thousands of statements, so the commonest operands take short cuts that build
exactly what the general path builds: expr reads a name that already has a node, and a call,
without going through prefix, and a right operand that is such a name without recursing.
tests/test_parse_speedpaths.py pins the graphs they build.

A statement of scalars that repeats (an unrolled recurrence) is parsed twice, recorded, then built
from the record, and a run of it in one go, most of it never tokenized: app/lang/replay.py, whose
graphs tests/test_parse_replay.py compares with a full parse's.
"""
from __future__ import annotations

import keyword
from typing import Any

from app.engine.errors import LimitExceeded, ProgramError
from app.engine.expand import Expand
from app.engine.graph import Graph
from app.engine.inputs import Input
from app.engine.limits import Limits
from app.engine.ops import ABSENT, BINARY_OPERATORS, CONSTANTS, OPS, PARAM_KINDS, Op, Param
from app.lang.replay import Reads, Template, record, repeats, replay, replay_run, tokenize_runs, tokens_of
from app.lang.suggest import close_names
from app.lang.tokens import END, NAME, NEWLINE, NUMBER, OP, STRING, tokenize

Term = tuple  # (node, literal, start, end)

_POW, _NEG, _TRANSPOSE = OPS["pow"], OPS["neg"], OPS["transpose"]
# Binding powers, as in Python: + - < * / @ < unary minus < ** (postfix .T and calls bind tightest).
_INFIX = {text: (10 if text in "+-" else 20 if text in "*/@" else 40, OPS[name]) for text, name in BINARY_OPERATORS.items()}
_UNARY_POWER = 30
# What may follow an atom: .T, and the ( and [ that are errors there (see postfix).
_POSTFIX = frozenset((".", "(", "["))
# How tightly the token after an operand binds to it: an infix operator's power, more than any
# for a postfix token (it binds to the operand itself), and 0 for anything else.
_TIGHTNESS = {text: power for text, (power, _) in _INFIX.items()} | dict.fromkeys(_POSTFIX, 100)
_STARS = frozenset(("*", "**"))
_LITERAL_NAMES = {"True": True, "False": False, "None": None}
_AUGMENTED = {"+=", "-=", "*=", "/=", "@=", "**=", "//=", "%=", "&=", "|=", "^="}
_COMPARISONS = {"<", ">", "==", "!=", "<=", ">="}
_KEYWORD_REASONS = {
    "lambda": "lambda expressions are not part of the language",
    "for": "comprehensions and loops are not part of the language",
    "if": "conditional expressions are not part of the language",
    "import": "import is not part of the language",
    "from": "import is not part of the language",
    "and": "boolean operators (and, or, not) are not part of the language",
    "or": "boolean operators (and, or, not) are not part of the language",
    "not": "boolean operators (and, or, not) are not part of the language",
    "in": "membership tests (in) are not part of the language",
    "is": "identity tests (is) are not part of the language",
}
_ALLOWED = "use numbers, names, + - * / ** @, .T and calls of the functions listed at GET /ops"
assert set(BINARY_OPERATORS.values()) <= set(OPS)


def parse(source: str, inputs: dict[str, Input], limits: Limits, expand: Expand | None = None) -> Graph:
    """Build the graph of `source`; `inputs` are the decoded values of its free variables;
    `expand` names the composite ops to build as their primitives."""
    if len(source) > limits.max_program_chars:
        raise LimitExceeded(
            f"the program has {len(source)} characters; the limit is {limits.max_program_chars}"
        )
    return _Parser(source, inputs, limits, expand=expand).program()


class _Parser:
    """The parse state: the tokens (parallel lists, see tokenize), the position, the names.

    The common operand, a name that already has a node (a variable or an input used before),
    is read in expr itself from `scope`, without the calls through prefix, name and resolve that
    every other operand takes: on a long program most operands are such names.
    """

    __slots__ = (
        "kinds", "texts", "starts", "pos", "graph", "inputs", "scope", "depth", "max_depth", "expand",
        "source", "replays", "omitted", "no_runs",
    )

    def __init__(self, source: str, inputs: dict[str, Input], limits: Limits, *,
                 expand: Expand | None = None, graph: Graph | None = None, replays: bool = True) -> None:
        self.source = source
        # Repeated statements are built from a record of their first parse (app/lang/replay.py),
        # except in a program with composites to expand (their expansion reads more than the
        # scope) and in a decomposition parsed into its caller's graph. Then the lines of a run
        # of one line past its first few are not even tokenized (see tokenize_runs). The tests
        # turn it off (`replays`) to compare with the graph a full parse builds.
        self.replays = replays and expand is None and graph is None and repeats(source)
        self.no_runs: set[str] = set()  # statement texts that replay_run could not build
        tokens, self.omitted = tokenize_runs(source) if self.replays else (tokenize(source), {})
        self.kinds, self.texts, self.starts = tokens
        self.pos = 0
        # A decomposition (see expand.py) is parsed into the graph of the program that calls it.
        self.graph = Graph(source, limits) if graph is None else graph
        self.expand = expand
        self.inputs = inputs
        # Every name that has a node → that node: assigned names (their newest node) and the
        # inputs used so far. Only names that passed the checks of `name` (the same as those of
        # check_name) get here.
        self.scope: dict[str, int] = {}
        self.depth = 0
        self.max_depth = limits.max_nesting

    # --- tokens -------------------------------------------------------------------------------

    def end(self, pos: int) -> int:
        """Where token `pos` ends: its start plus the length of its text."""
        return self.starts[pos] + len(self.texts[pos])

    def token(self, pos: int) -> tuple[str, str, int, int]:
        """Token `pos` as (kind, text, start, end)."""
        return self.kinds[pos], self.texts[pos], self.starts[pos], self.end(pos)

    # --- statements ---------------------------------------------------------------------------

    def program(self) -> Graph:
        kinds = self.kinds
        output = None
        # Statement text → True once seen, its Template once recorded (the second time it is
        # seen: a statement seen once pays no recording), or False if it is not one to replay.
        templates: dict[str, Template | bool] = {}
        while True:
            kind = kinds[self.pos]
            if kind == END:
                break
            if kind == NEWLINE:
                self.pos += 1
                continue
            output = self.statement() if not self.replays else self.repeatable_statement(templates)
            kind = kinds[self.pos]
            if kind == NEWLINE:
                if self.omitted and self.starts[self.pos] in self.omitted:
                    self.restore(self.pos)  # run_of did not build them
                self.pos += 1
            elif kind != END:
                raise self.unexpected(self.pos, after_term=True)
        if output is None:
            raise ProgramError("syntax_error", "the program is empty: write an expression such as q = x + y")
        self.graph.output = output
        return self.graph

    def repeatable_statement(self, templates: dict[str, Template | bool]) -> int:
        """A statement, replayed if its text was recorded (see app/lang/replay.py), else parsed,
        and recorded the second time its text is seen.

        A statement ends at the first NEWLINE token after its start (inside brackets the
        tokenizer drops line breaks), and its tokens are those of the text up to it.
        """
        pos, kinds, starts = self.pos, self.kinds, self.starts
        try:
            stop = kinds.index(NEWLINE, pos)
        except ValueError:
            stop = len(kinds) - 1  # the END token
        offset = starts[pos]
        text = self.source[offset:starts[stop]]
        template = templates.get(text)
        if template is None:  # seen for the first time
            templates[text] = True
            return self.statement()
        if template is False:  # not one to replay
            return self.statement()
        if template is not True:
            node = replay(template, self.graph, self.scope, offset)
            if node is not None:
                self.pos = stop
                return self.run_of(template, text, stop - pos, node)
            # The lookups came out differently (a name assigned since): recorded again.
        scope, first = self.scope, len(self.graph)
        reads = self.scope = Reads(scope)  # type: ignore[assignment]  (a dict's get, in, [] and iteration)
        try:
            node = self.statement()
        finally:
            self.scope = scope
        if self.pos == stop:
            templates[text] = record(self.graph, reads, first, node, offset) or False
        return node

    def run_of(self, template: Template, text: str, length: int, node: int) -> int:
        """After a replayed statement of `length` tokens: the statements right after it with the
        same text, built together (replay_run), and the last one's node; else `node`, and they
        are parsed one by one."""
        if text in self.no_runs:
            return node
        kinds, starts, source = self.kinds, self.starts, self.source
        offsets = []
        stop = self.pos
        while kinds[stop] == NEWLINE:  # the statement after it starts right after its NEWLINE
            start, next_stop = stop + 1, stop + 1 + length
            if next_stop >= len(kinds) or kinds[next_stop] not in (NEWLINE, END):
                break
            offset = starts[start]
            if source[offset:starts[next_stop]] != text:
                break
            offsets.append(offset)
            stop = next_stop
        block = self.omitted.get(starts[stop]) if kinds[stop] == NEWLINE else None
        if block is not None:
            offsets += block.offsets()
        if offsets:
            last = replay_run(template, self.graph, self.scope, offsets)
            if last is not None and block is not None:
                del self.omitted[starts[stop]]
            if last is not None:
                self.pos = stop
                return last
            # Not tried again for this text: each try looks at every statement of the run, and
            # what stopped it (tensors, a limit the run would pass) stays.
            self.no_runs.add(text)
        return node

    def restore(self, pos: int) -> None:
        """Puts the tokens of the lines omitted after the line break at `pos` in after it."""
        block = self.omitted.pop(self.starts[pos])
        kinds, texts, starts = tokens_of(self.source, block)
        self.kinds[pos + 1:pos + 1] = kinds
        self.texts[pos + 1:pos + 1] = texts
        self.starts[pos + 1:pos + 1] = starts

    def statement(self) -> int:
        texts = self.texts
        pos = self.pos
        text, next_text = texts[pos], texts[pos + 1]  # a statement is never END: pos + 1 exists
        if next_text == "=" and self.kinds[pos] == NAME:
            if text not in self.scope:  # a name with a node has passed the check already
                self.check_name(text, self.starts[pos], self.end(pos))
            self.pos = pos + 2
            term = self.expr()
            node = term[0] if term[0] >= 0 else self.operand(term)
            names = self.graph.names
            if names[node] is None:
                names[node] = text
            self.scope[text] = node
            return node
        if next_text in _AUGMENTED and self.kinds[pos] == NAME:
            raise ProgramError(
                "forbidden",
                f"augmented assignment ({next_text}) is not part of the language; "
                f"write {text} = {text} {next_text[:-1]} ...",
                start=self.starts[pos + 1], end=self.end(pos + 1),
            )
        term = self.expr()
        return term[0] if term[0] >= 0 else self.operand(term)

    def check_name(self, name: str, start: int, end: int) -> None:
        if name.startswith("__"):
            raise ProgramError("forbidden", f"names starting with __ ({name}) are not allowed", start=start, end=end)
        if keyword.iskeyword(name) or name in _LITERAL_NAMES:
            raise ProgramError("forbidden", f"'{name}' is a Python keyword and cannot be assigned", start=start, end=end)

    # --- expressions --------------------------------------------------------------------------

    def expr(self, min_power: int = 0) -> Term:
        """Precedence climbing: binary operators that bind tighter than `min_power` extend `left`.

        A chain of one precedence is a loop here (each right operand returns at the next
        operator of the same power), so `x + x + ... + x` recurses one level, not once per `+`.

        The commonest operands are read here as prefix would read them, with fewer calls: a name
        with a node (see scope), and a call. The term being built is kept in four locals rather
        than a tuple until it is returned.
        """
        texts, scope = self.texts, self.scope
        pos = self.pos
        text = texts[pos]
        node = scope.get(text)
        if node is not None and texts[pos + 1] not in _POSTFIX:  # a name is never the last token
            self.pos = pos + 1
            literal, start = None, self.starts[pos]
            end = start + len(text)
        else:
            if text in OPS and texts[pos + 1] == "(":
                term = self.call()
                if texts[self.pos] in _POSTFIX:
                    term = self.postfix(term)
            else:
                term = self.prefix()
            node, literal, start, end = term
        while True:
            pos = self.pos
            binding = _INFIX.get(texts[pos])  # only operator tokens have these texts
            if binding is None or binding[0] <= min_power:
                return (node, literal, start, end)
            power, op = binding
            pos += 1  # the right operand
            right_node = scope.get(texts[pos]) if op is not _POW else None
            if right_node is not None and _TIGHTNESS.get(texts[pos + 1], 0) <= power:
                # A name with a node, followed by an operator that binds no tighter than this one
                # (or by none): what expr(power) would return, read here.
                self.pos = pos + 1
                right_end = self.starts[pos] + len(texts[pos])
                right = None
            else:
                self.pos = pos
                if op is _POW:  # right-associative, and its right operand may carry a unary minus
                    self.enter(self.starts[pos - 1])
                    right = self.expr(power - 1)
                    self.depth -= 1
                else:
                    right = self.expr(power)
                right_node, _, _, right_end = right
            # Number literals become constant nodes now, the left operand's first.
            if node < 0:
                node = self.operand((node, literal, start, end))
            if right_node < 0:
                right_node = self.operand(right)
            node = self.graph.apply(op, (node, right_node), None, start, right_end)
            literal, end = None, right_end

    def prefix(self) -> Term:
        """A unary minus or plus, or an atom with its postfix .T."""
        pos = self.pos
        kind, text, start, end = self.kinds[pos], self.texts[pos], self.starts[pos], self.end(pos)
        if kind == OP and (text == "-" or text == "+"):
            self.pos = pos + 1
            self.enter(start)
            operand = self.expr(_UNARY_POWER)  # -x ** 2 is -(x ** 2); -x * y is (-x) * y
            self.depth -= 1
            node, literal, _, end = operand
            if text == "+":
                return (node, literal, start, end)
            if node < 0 and _is_number(literal):
                return (-1, -literal, start, end)  # -2 is the constant -2, not neg(2)
            return self.apply(_NEG, (self.operand(operand),), None, start, end)
        if kind == NAME:
            term = self.name(text, start, end)
        elif kind == NUMBER:
            self.pos = pos + 1
            term = (-1, _number(text, start, end), start, end)
        elif kind == OP and text == "(":
            term = self.parenthesized()
        else:
            raise self.unexpected(pos, after_term=False)
        if self.texts[self.pos] in _POSTFIX:
            return self.postfix(term)
        return term

    def postfix(self, term: Term) -> Term:
        texts = self.texts
        while True:
            pos = self.pos
            if texts[pos] not in _POSTFIX:  # only operator tokens have these texts
                return term
            if texts[pos] == ".":
                name_kind, name_text, name_end = self.kinds[pos + 1], texts[pos + 1], self.end(pos + 1)
                if name_kind == NAME and name_text == "T":
                    self.pos = pos + 2
                    term = self.apply(_TRANSPOSE, (self.operand(term),), None, term[2], name_end)
                    continue
                shown = name_text if name_kind == NAME else ""
                raise ProgramError(
                    "forbidden",
                    f"attribute access (.{shown}) is not part of the language; only .T (transpose) is",
                    start=self.starts[pos], end=name_end if shown else self.end(pos),
                )
            raise self.unexpected(pos, after_term=True)

    def name(self, text: str, start: int, end: int) -> Term:
        """A variable, a constant, True/False/None, or the start of a call."""
        if text.startswith("__"):
            raise ProgramError("forbidden", f"names starting with __ ({text}) are not allowed", start=start, end=end)
        if text in _LITERAL_NAMES:
            self.pos += 1
            return (-1, _LITERAL_NAMES[text], start, end)
        if keyword.iskeyword(text):
            raise self.unexpected(self.pos, after_term=False)
        if self.texts[self.pos + 1] == "(":
            return self.call()
        self.pos += 1
        return self.resolve(text, start, end)

    def parenthesized(self) -> Term:
        kinds, texts = self.kinds, self.texts
        open_start = self.starts[self.pos]
        self.pos += 1
        self.enter(open_start)
        items = []
        is_tuple = False
        while texts[self.pos] != ")":
            items.append(self.expr())
            text = texts[self.pos]
            if text == ",":
                is_tuple = True
                self.pos += 1
            elif text != ")":
                if kinds[self.pos] in (NEWLINE, END):
                    raise self.unclosed(open_start)
                raise self.unexpected(self.pos, after_term=True)
        close_end = self.end(self.pos)
        self.pos += 1
        self.depth -= 1
        if not is_tuple and len(items) == 1:
            node, literal, _, _ = items[0]
            return (node, literal, open_start, close_end)
        if any(node >= 0 or not _is_number(literal) for node, literal, _, _ in items):
            raise ProgramError(
                "forbidden", "a tuple may only hold numbers, as in axis=(0, 1) or weight=(1.0, 2.5)",
                start=open_start, end=close_end,
            )
        return (-1, tuple(literal for _, literal, _, _ in items), open_start, close_end)

    def call(self) -> Term:
        """A function of the op table called by name: name '(' arguments ')'."""
        kinds, texts = self.kinds, self.texts
        pos = self.pos
        name, start = texts[pos], self.starts[pos]
        op = OPS.get(name)
        if op is None:
            close = close_names(name, OPS)
            hint = f"; did you mean {' or '.join(close)}?" if close else "; the functions are listed at GET /ops"
            raise ProgramError(
                "unknown_function", f"unknown function '{name}'{hint}",
                start=start, end=start + len(name), suggestions=close,
            )
        open_start = self.starts[pos + 1]
        self.pos = pos + 2
        self.enter(open_start)
        positional: list[Term] = []
        keywords: dict[str, Term] = {}
        while texts[self.pos] != ")":
            pos = self.pos
            text = texts[pos]
            if text in _STARS:
                raise ProgramError(
                    "forbidden", f"starred arguments ({text}) are not part of the language",
                    start=self.starts[pos], end=self.end(pos),
                )
            if kinds[pos] == NAME and texts[pos + 1] == "=":  # a name is never the last token
                self.pos = pos + 2
                self.check_keyword(op, text, keywords, self.starts[pos], self.end(pos))
                enum = kinds[self.pos] == STRING or any(p.name == text and p.kind == "enum" for p in op.params)
                keywords[text] = self.choice(op, text) if enum else self.expr()
            else:
                if keywords and kinds[pos] != END:  # at the end, the value missing is the error
                    raise ProgramError(
                        "bad_arguments", "a positional argument cannot follow a keyword argument",
                        start=self.starts[pos], end=self.end(pos),
                    )
                positional.append(self.expr())
            text = texts[self.pos]
            if text == ",":
                self.pos += 1
            elif text != ")":
                if kinds[self.pos] in (NEWLINE, END):
                    raise self.unclosed(open_start)
                raise self.unexpected(self.pos, after_term=True)
        end = self.starts[self.pos] + 1  # the end of ')'
        self.pos += 1
        self.depth -= 1
        if not keywords and not op.params and len(positional) == len(op.operands):
            operands, params = tuple(map(self.operand, positional)), None  # what bind would give
        else:
            operands, params = self.bind(op, positional, keywords, start, end)
        if self.expand is not None and op.decomposition is not None and self.expand.opens(op.name):
            return (self.expand.call(self, op, operands, params, start, end), None, start, end)
        return self.apply(op, operands, params, start, end)

    def choice(self, op: Op, name: str) -> Term:
        """The value of keyword `name` when it is a string or the parameter is an enum: a string is
        allowed only where the op table declares an enum, and only as a plain quoted word."""
        pos = self.pos
        text, start, end = self.texts[pos], self.starts[pos], self.end(pos)  # the opening quote
        param = next(p for p in op.params if p.name == name)  # check_keyword found it
        if param.kind != "enum":
            raise ProgramError(
                "forbidden", f"strings are not part of the language; only an option such as "
                f'reduction="sum" takes one, and {op.name}\'s {name} is not such an option',
                start=start, end=end,
            )
        # The tokenizer gives a quote as a token of its own: a word is quote, name, the same quote.
        kinds, texts, starts = self.kinds, self.texts, self.starts
        quoted = kinds[pos] == STRING and (
            kinds[pos + 1] == NAME and starts[pos + 1] == end and texts[pos + 2] == text
            and starts[pos + 2] == self.end(pos + 1)
        )
        if not quoted:
            choices = " or ".join(f'"{c}"' for c in param.choices)
            raise ProgramError(
                "bad_arguments", f"{op.name}'s {name} must be {choices}, in quotes", start=start, end=end
            )
        word, end = texts[pos + 1], self.end(pos + 2)
        self.pos = pos + 3
        return (-1, _Word(word), start, end)

    def check_keyword(self, op: Op, name: str, given: dict, start: int, end: int) -> None:
        names = [*op.optional, *(p.name for p in op.params)]
        if name in given:
            raise ProgramError("bad_arguments", f"{op.name} got {name}= twice", start=start, end=end)
        if name not in names:
            known = f"its keyword arguments are {', '.join(names)}" if names else "it takes no keyword arguments"
            raise ProgramError(
                "bad_arguments", f"{op.name} has no keyword argument '{name}': {known} (signature {op.signature()})",
                start=start, end=end,
            )

    def bind(self, op: Op, positional: list[Term], keywords: dict[str, Term], start: int, end: int):
        """Operands by position; then parameters by position or keyword, checked by kind."""
        count = len(op.operands)
        if op.optional:
            positional = self.optional_operands(op, positional, keywords, start, end)
        if len(positional) < count or len(positional) > count + len(op.params):
            raise ProgramError(
                "bad_arguments",
                f"{op.name} takes {count} operand{'s' if count > 1 else ''} ({', '.join(op.operands)}), "
                f"got {len(positional)} argument{'s' if len(positional) != 1 else ''}: {op.signature()}",
                start=start, end=end,
            )
        operands = tuple(map(self.operand, positional[:count]))
        if not op.params:
            return operands, None
        given = dict(zip((p.name for p in op.params), positional[count:]))
        for name, term in keywords.items():
            if name in given:
                raise ProgramError("bad_arguments", f"{op.name} got {name} twice", start=term[2], end=term[3])
            given[name] = term
        params = {}
        for param in op.params:
            term = given.get(param.name)
            if term is None:
                if param.required:
                    raise ProgramError(
                        "bad_arguments", f"{op.name} needs {param.name}: {op.signature()}", start=start, end=end
                    )
                params[param.name] = param.default
            else:
                params[param.name] = _param_value(op, param, term)
        return operands, params

    def optional_operands(self, op: Op, positional: list[Term], keywords: dict[str, Term], start: int,
                          end: int) -> list[Term]:
        """The operands of an op with optional ones (`bias=None`), all by position: those given by
        keyword are moved into place, and one left out or given as None becomes an empty constant
        of shape (0,), which the op reads as "not given" (keywords is consumed)."""
        required = len(op.operands) - len(op.optional)
        given = positional[:len(op.operands)]
        rest = positional[len(op.operands):]
        if rest and any(name in keywords for name in op.optional):
            raise ProgramError("bad_arguments", f"{op.name}: parameters by position cannot follow operands "
                               f"given by keyword: {op.signature()}", start=start, end=end)
        for k, name in enumerate(op.optional, required):
            term = keywords.pop(name, None)
            if term is not None:
                if k < len(given):
                    raise ProgramError("bad_arguments", f"{op.name} got {name} twice", start=term[2], end=term[3])
                given += [None] * (k - len(given)) + [term]
        if len(given) < required:
            return given  # bind reports the missing operands
        absent = end - 1  # an operand left out stands at the closing parenthesis
        filled = []
        for term in given + [None] * (len(op.operands) - len(given)):
            if term is None or (term[0] < 0 and term[1] is None):
                where = (absent, absent) if term is None else (term[2], term[3])
                filled.append((self.graph.leaf(None, ABSENT, (0,), False, *where), None, *where))
            else:
                filled.append(term)
        return filled + rest

    # --- names and nodes ----------------------------------------------------------------------

    def resolve(self, name: str, start: int, end: int) -> Term:
        node = self.scope.get(name)
        if node is None and name in self.inputs:
            given = self.inputs[name]
            node = self.graph.leaf(name, given.value, given.shape, given.requires_grad, start, end)
            self.scope[name] = node
        if node is not None:
            return (node, None, start, end)
        if name in CONSTANTS:
            return (-1, CONSTANTS[name], start, end)
        if name in OPS:
            raise ProgramError(
                "unknown_name", f"'{name}' is a function: call it, as in {name}(x)", start=start, end=end
            )
        known = list(dict.fromkeys([*self.scope, *self.inputs, *CONSTANTS]))
        close = close_names(name, known)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise ProgramError(
            "missing_input",
            f"'{name}' has no value: it is not assigned before it is used and is not among the inputs{hint}",
            start=start, end=end, suggestions=close,
        )

    def operand(self, term: Term) -> int:
        """The term as a node: a number literal becomes a constant node here."""
        node, literal, start, end = term
        if node >= 0:
            return node
        if not _is_number(literal):
            shown = "a tuple" if isinstance(literal, tuple) else repr(literal)
            raise ProgramError(
                "bad_arguments", f"{shown} is not a value; it can only be an argument such as axis=(0, 1)",
                start=start, end=end,
            )
        return self.graph.leaf(None, float(literal), (), False, start, end)

    def apply(self, op: Op, operands: tuple[int, ...], params: dict | None, start: int, end: int) -> Term:
        return (self.graph.apply(op, operands, params, start, end), None, start, end)

    # --- errors -------------------------------------------------------------------------------

    def enter(self, start: int) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise LimitExceeded(
                f"the expression is nested more than {self.max_depth} levels deep", start=start, end=start + 1
            )

    def unclosed(self, open_start: int) -> ProgramError:
        kind, text, start, end = self.token(self.pos)
        found = "the end of the line" if kind in (NEWLINE, END) else repr(text)
        return ProgramError(
            "syntax_error", f"expected ',' or ')' to close the '(' opened earlier, found {found}",
            start=start, end=max(end, start + 1) if kind != END else start,
        )

    def unexpected(self, pos: int, after_term: bool) -> ProgramError:
        """The error for the token at `pos`, which cannot come where it does."""
        kind, text, start, end = self.token(pos)
        where = {"start": start, "end": end}
        if kind == STRING:
            return ProgramError("forbidden", "strings are not part of the language", **where)
        if kind == NAME and text in _KEYWORD_REASONS:
            return ProgramError("forbidden", _KEYWORD_REASONS[text], **where)
        if kind == NAME and keyword.iskeyword(text):
            return ProgramError("forbidden", f"'{text}' is not part of the language; {_ALLOWED}", **where)
        if kind == OP:
            if text in _COMPARISONS:
                return ProgramError("forbidden", f"comparisons ({text}) are not part of the language", **where)
            if text == ":=":
                return ProgramError("forbidden", "the walrus operator := is not part of the language", **where)
            if text == "[":
                what = "indexing and slicing (x[...])" if after_term else "list literals ([...])"
                hint = "" if after_term else "; give tensors as inputs"
                return ProgramError("forbidden", f"{what} are not part of the language{hint}", **where)
            if text == "{":
                return ProgramError("forbidden", "dict and set literals are not part of the language", **where)
            if text == "(" and after_term:
                return ProgramError(
                    "forbidden", "only the functions listed at GET /ops can be called, by their name", **where
                )
            if text in ("*", "**") and not after_term:
                return ProgramError("forbidden", f"starred expressions ({text}x) are not part of the language", **where)
            if text in ("//", "%", "&", "|", "^", "~", "!", "->", ":") or text in _AUGMENTED:
                return ProgramError("forbidden", f"the operator {text} is not part of the language; {_ALLOWED}", **where)
            if text == "=":
                return ProgramError(
                    "syntax_error", "cannot assign here: the left side of = must be a single name", **where
                )
            if text == ")":
                return ProgramError("syntax_error", "unmatched ')'", **where)
        if kind in (NEWLINE, END):
            return ProgramError(
                "syntax_error", "the expression is incomplete: a value is missing here", start=start, end=start
            )
        if after_term:
            return ProgramError(
                "syntax_error", f"expected an operator or the end of the statement before {text!r}", **where
            )
        return ProgramError("syntax_error", f"unexpected {text!r}", **where)


class _Word(str):
    """A string literal of the program: only ever the value of an enum parameter."""


def _is_number(literal: Any) -> bool:
    return isinstance(literal, (int, float)) and not isinstance(literal, bool)


def _number(text: str, start: int, end: int) -> int | float:
    if text[-1] in "jJ":
        raise ProgramError("forbidden", "complex numbers are not part of the language", start=start, end=end)
    digits = text.replace("_", "")
    try:
        # An integer past the float range is a float (inf), as 1e400 is: as an int it would
        # overflow when it becomes a constant.
        return int(digits) if digits.isdigit() and len(digits) < 300 else float(digits)
    except ValueError:
        raise ProgramError("syntax_error", f"{text!r} is not a number", start=start, end=end) from None


def _param_value(op: Op, param: Param, term: Term) -> Any:
    """A parameter's literal, checked against its kind (see Param)."""
    node, value, start, end = term
    if param.kind in PARAM_KINDS:
        convert, described = PARAM_KINDS[param.kind]
        try:
            if node < 0 and not isinstance(value, _Word):
                return convert(value)
        except ValueError:
            pass
        raise ProgramError(
            "bad_arguments", f"{op.name}'s {param.name} must be {described}, written out in the program",
            start=start, end=end,
        )
    ints = isinstance(value, int) and not isinstance(value, bool)
    # Tuples hold numbers only (see parenthesized); every kind but "numbers" wants integers.
    int_tuple = isinstance(value, tuple) and all(isinstance(item, int) for item in value)
    if node < 0:
        if param.kind == "enum" and isinstance(value, _Word) and value in param.choices:
            return str(value)
        if param.kind == "count" and ints and value >= 1:
            return value
        if param.kind == "index" and (ints or value is None):
            return value
        if param.kind == "fraction" and _is_number(value) and 0 <= value <= 1:
            return float(value)
        if param.kind == "numbers" and (value is None or _is_number(value) or isinstance(value, tuple)):
            return value if value is None else tuple(map(float, value if isinstance(value, tuple) else (value,)))
        if param.kind == "bool" and isinstance(value, bool):
            return value
        if param.kind == "axis" and ints:
            return value
        if param.kind == "axes" and (value is None or ints or int_tuple):
            return value
        if param.kind in ("shape", "perm") and (ints or int_tuple or (value is None and param.kind == "perm")):
            return (value,) if ints else value
    expected = {
        "bool": "True or False",
        "axis": "an integer such as -1",
        "axes": "None, an integer or a tuple of integers such as (0, 1)",
        "shape": "a tuple of integers such as (3, -1)",
        "perm": "a tuple of integers such as (1, 0)",
        "count": "a positive integer such as 3",
        "index": "None or an integer such as -100",
        "fraction": "a number from 0 to 1 such as 0.1",
        "numbers": "a tuple of numbers such as (1.0, 2.0, 0.5)",
        "enum": " or ".join(f'"{c}"' for c in param.choices),
    }[param.kind]
    raise ProgramError(
        "bad_arguments", f"{op.name}'s {param.name} must be {expected}, written out in the program",
        start=start, end=end,
    )
