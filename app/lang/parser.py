"""Parses a program and builds its graph in the same pass; nothing is ever evaluated by Python.

Recursive descent over the tokens, with Python's precedence:

    statement := NAME '=' expr | NAME (',' NAME)+ '=' expr (',' expr)* | NAME augmented-op expr
               | 'for' NAME 'in' expr ':' body | expr
    expr      := prefix (binary-operator expr)*      with Python's precedence, by climbing
    prefix    := ('-' | '+' | '~') expr | atom postfix*
    postfix   := '.' NAME | '.' NAME '(' arguments ')' | '[' subscript ']'
    atom      := NUMBER | NAME | NAME '(' arguments ')' | '(' expr, ... ')' | '[' expr, ... ']'

Only what this grammar names is accepted: a whitelist. Names of namespaces (torch, F, np, math)
and tensor methods are looked up in the namespace table (app/engine/dialects.py, bound by
app/lang/library.py); Python's len, range, list, tuple, float and int work on values known before
the run (app/lang/builtins.py); subscripts become `index` nodes (app/lang/subscripts.py); loops
are unrolled (app/lang/loops.py). Values known before the run (shapes, tuples, ranges, numbers of
them) are terms with no node (app/lang/static.py). Everything else (lambdas, comprehensions,
strings but plain quoted words, imports, walrus, starred, def, while, if, attributes outside the
table) stops the parse with an error that points at it.

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
without going through prefix, and a right operand that is such a name, or a number (with its
minus), without recursing.
tests/test_parse_speedpaths.py pins the graphs they build.

A statement of scalars that repeats (an unrolled recurrence) is parsed twice, recorded, then built
from the record, and a run of it in one go, most of it never tokenized: app/lang/replay.py, whose
graphs tests/test_parse_replay.py compares with a full parse's. Lines of one shape in a row (a
program written out line by line, with new names and numbers on every line) are built the same
way from a record of one of them, never tokenized, and the runs after it that differ only in their
digits' counts from the same record (resume): app/lang/shapes.py, tests/test_line_shapes.py.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable
from typing import Any, TypedDict, TypeVar

from app.engine import dialects
from app.engine.errors import LimitExceeded, ProgramError
from app.engine.expand import Expand
from app.engine.graph import Graph
from app.engine.inputs import Input
from app.engine.limits import Limits
from app.engine.ops import (
    ABSENT,
    BINARY_OPERATORS,
    CONSTANTS,
    OPS,
    PARAM_KINDS,
    Op,
    Param,
)
from app.lang import builtins, library, loops, subscripts
from app.lang.replay import (
    Reads,
    Template,
    record,
    replay,
    replay_run,
    tokenize_runs,
    tokens_of,
)
from app.lang.shapes import Shape, build_run, moved_shape, record_shape
from app.lang.static import (
    COMPARE,
    Dtype,
    FloatExpr,
    IntExpr,
    Namespace,
    NumberList,
    Pair,
    Term,
    TermList,
    Terms,
    Word,
    arithmetic,
    describe,
    is_number,
    plain,
    remembered,
)
from app.lang.suggest import close_names
from app.lang.tokens import END, NAME, NEWLINE, NUMBER, OP, STRING, tokenize

_Item = TypeVar("_Item")  # an item of a bracketed list: a term, or a subscript's item

_POW, _NEG, _TRANSPOSE, _NOT = OPS["pow"], OPS["neg"], OPS["transpose"], OPS["logical_not"]
_BARE = dialects.BARE  # bare names called in a library's order (see call)
# Binding powers, as in Python: + - < * / @ < unary minus < ** (postfix .T and calls bind tightest).
_INFIX: dict[str, tuple[int, Any]] = {
    text: (10 if text in "+-" else 20 if text in "*/@" else 40, OPS[name]) for text, name in BINARY_OPERATORS.items()
}
# Integer division and remainder work on numbers known before the program runs; comparisons make
# masks (gt, lt, ...) of tensors, and booleans of numbers. Their "op" is their text: see binary.
_INFIX.update({"//": (20, "//"), "%": (20, "%")})
_INFIX.update({text: (5, text) for text in COMPARE})
_COMPARISON_OPS = {">": "gt", "<": "lt", ">=": "ge", "<=": "le", "==": "eq", "!=": "ne"}
_AUGMENTED_OPS = {"+=": "+", "-=": "-", "*=": "*", "/=": "/", "@=": "@", "**=": "**", "//=": "//", "%=": "%"}
# Python's functions the language knows, on values known before the program runs.
_BUILTINS = frozenset(("len", "range", "float", "int", "list", "tuple"))
# Ops whose scalar nodes have a value known before the run when their operands do (see node_value).
_STATIC_OPS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "neg": "neg"}
_STATIC_DEPTH = 32
# Lines of a run of one shape parsed to find one to record (see resume): the first may read an
# input for the first time, which a line built from a record cannot do.
_RECORD_TRIES = 2
_INT64 = 2**63 - 1  # integer parameters: what numpy and the shape rules compute with
_UNARY_POWER = 30
# A quoted word (Parser.word): letters, digits and these marks (an einsum equation's too, 'b i d, ...->'),
# at most this many tokens between its quotes.
_WORD_MARKS = str.maketrans("", "", "-+_,.> ")
_WORD_TOKENS = 64
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
    "for": "comprehensions are not part of the language; a loop is `for i in range(k):` starting a line",
    "if": "conditional expressions are not part of the language",
    "import": "import is not part of the language",
    "from": "import is not part of the language",
    "and": "boolean operators (and, or, not) are not part of the language",
    "or": "boolean operators (and, or, not) are not part of the language",
    "not": "boolean operators (and, or, not) are not part of the language",
    "in": "membership tests (in) are not part of the language",
    "is": "identity tests (is) are not part of the language",
}
_ALLOWED = (
    "use numbers, names, operators, subscripts, `for i in range(k):` loops and the functions, methods "
    "and attributes listed at GET /ops"
)
if not set(BINARY_OPERATORS.values()) <= set(OPS):  # the operators' ops are in the table
    raise RuntimeError("an operator of BINARY_OPERATORS has no op in the table")


def parse(source: str, inputs: dict[str, Input], limits: Limits, expand: Expand | None = None) -> Graph:
    """Build the graph of `source`; `inputs` are the decoded values of its free variables;
    `expand` names the composite ops to build as their primitives."""
    if len(source) > limits.max_program_chars:
        raise LimitExceeded(f"the program has {len(source)} characters; the limit is {limits.max_program_chars}")
    return _Parser(source, inputs, limits, expand=expand).program()


class _Where(TypedDict):
    """Where an error points: ProgramError's start and end."""

    start: int
    end: int


class _Parser:
    """The parse state: the tokens (parallel lists, see tokenize), the position, the names.

    The common operand, a name that already has a node (a variable or an input used before),
    is read in expr itself from `scope`, without the calls through prefix, name and resolve that
    every other operand takes: on a long program most operands are such names.
    """

    __slots__ = (
        "can_replay",
        "depth",
        "expand",
        "graph",
        "inputs",
        "kinds",
        "max_depth",
        "no_runs",
        "node_static",
        "omitted",
        "pos",
        "replays",
        "scope",
        "shaped",
        "source",
        "starts",
        "statics",
        "texts",
        "unrecordable",
        "unrolled",
    )

    def __init__(
        self,
        source: str,
        inputs: dict[str, Input],
        limits: Limits,
        *,
        expand: Expand | None = None,
        graph: Graph | None = None,
        replays: bool = True,
    ) -> None:
        self.source = source
        # Repeated statements are built from a record of their first parse (app/lang/replay.py),
        # except in a program with composites to expand (their expansion reads more than the
        # scope) and in a decomposition parsed into its caller's graph. Then the lines of a run
        # of one line past its first few are not even tokenized (see tokenize_runs). The tests
        # turn it off (`replays`) to compare with the graph a full parse builds.
        self.can_replay = replays and expand is None and graph is None  # a loop's body replays too
        self.no_runs: set[str] = set()  # statement texts that replay_run could not build
        self.shaped: tuple[Shape, str] | None = None  # the last run's record and its line (see resume)
        tokens, self.omitted, self.replays = tokenize_runs(source) if self.can_replay else (tokenize(source), {}, False)
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
        # Names that stand for values known before the program runs and have no node (a shape's
        # sizes, a tuple, a loop's counter): name → value. A name is in scope or here, never both.
        self.statics: dict[str, Any] = {}
        # Nodes whose value is also known before the program runs (an integer input, `n = 3`):
        # node → that number, for where a number is needed (range(n), x.view(n, -1)).
        self.node_static: dict[int, Any] = {}
        # Set by anything a recorded replay would not repeat (see repeatable_statement).
        self.unrecordable = False
        self.unrolled = 0  # tokens parsed again by loops (app/lang/loops.py), against a budget
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
            node: int | None = self.statement() if not self.replays else self.repeatable_statement(templates)
            while node is not None:
                if node >= 0:  # -1: a statement of values with no node (`B, T = x.shape`)
                    output = node
                elif output is None:
                    output = -1
                node = None
                kind = kinds[self.pos]
                if kind == NEWLINE:
                    if self.omitted and self.starts[self.pos] in self.omitted:
                        node = self.resume(self.pos)  # lines left out of the tokens: built, or put back
                        if node is not None:
                            continue
                    self.pos += 1
                elif kind != END:
                    raise self.unexpected(self.pos, after_term=True)
        if output is None:
            raise ProgramError("syntax_error", "the program is empty: write an expression such as q = x + y")
        if output < 0:
            raise ProgramError(
                "syntax_error",
                "the program computes no tensor: its statements give values known before it runs "
                "(shapes, numbers of them); end it with a tensor expression such as x.sum()",
                start=0,
                end=len(self.source.rstrip()),
            )
        self.graph.output = output
        return self.graph

    def repeatable_statement(self, templates: dict[str, Template | bool], runs: bool = True) -> int:
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
        text = self.source[offset : starts[stop]]
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
                # A loop's body (runs=False) is replayed statement by statement: the same text
                # right after it may lie past the body.
                return self.run_of(template, text, stop - pos, node) if runs else node
            # The lookups came out differently (a name assigned since): recorded again.
        first = len(self.graph)
        node, reads = self.read_statement()
        if self.unrecordable:  # it read or made values known before the run: parsed each time
            templates[text] = False
        elif self.pos == stop:
            templates[text] = record(self.graph, reads, first, node, offset) or False
        return node

    def read_statement(self) -> tuple[int, Reads]:
        """A statement parsed with a Reads as its scope, which notes its lookups and assignments
        (for a record of it); unrecordable tells whether it read or made a value known before
        the run, which a record would not repeat."""
        scope = self.scope
        reads = self.scope = Reads(scope)  # type: ignore[assignment]  # answers get, in, [], pop, iteration
        self.unrecordable = False
        try:
            return self.statement(), reads
        finally:
            self.scope = scope

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
            if source[offset : starts[next_stop]] != text:
                break
            offsets.append(offset)
            stop = next_stop
        block = self.omitted.get(starts[stop]) if kinds[stop] == NEWLINE else None
        if block is not None and block.varies:  # lines of this shape, not this text
            block = None
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

    def resume(self, pos: int) -> int | None:
        """At the line break `pos`, before lines left out of the tokens. A run of one shape: its
        first line's tokens are put in, it is parsed and recorded (app/lang/shapes.py), and the
        rest are built from the record; if it cannot be recorded (it reads an input for the first
        time), the next line is tried. The node of the last line built or parsed (-1 if none made
        one), with pos at the line break after it. Else, or where the rest cannot be built, their
        tokens are put in (None: nothing parsed yet)."""
        key = self.starts[pos]
        block = self.omitted[key]
        if not block.varies or block.copies < 2:
            self.restore(pos)
            return None
        if block.stride and self.shaped is not None:
            # The last run's record, moved to this run's first line (moved_shape): not parsed.
            recorded, model = self.shaped
            moved = moved_shape(recorded, model, self.source[block.start : block.start + block.stride - 1])
            last = None if moved is None else build_run(moved, self.graph, self.scope, self.statics, self.source, block)
            if last is not None:
                del self.omitted[key]
                return last
        made = -1
        for _ in range(_RECORD_TRIES):
            stride = block.stride or self.source.index("\n", block.start) + 1 - block.start
            kinds, texts, starts = tokens_of(self.source, block._replace(copies=1, end=block.start + stride))
            stop = pos + len(kinds)  # the line's break
            self.kinds[pos + 1 : pos + 1] = kinds
            self.texts[pos + 1 : pos + 1] = texts
            self.starts[pos + 1 : pos + 1] = starts
            rest = block._replace(start=block.start + stride, copies=block.copies - 1)
            del self.omitted[key]
            key = rest.start - 1
            self.omitted[key] = rest
            self.pos = pos + 1
            graph = self.graph
            first = len(graph)
            node, reads = self.read_statement()
            if node >= 0:
                made = node
            if self.pos != stop or key not in self.omitted:  # a loop's header: it put the lines back
                return made
            line = (kinds[:-1], texts[:-1], starts[:-1])
            recordable = node >= 0 and not self.unrecordable
            shape = record_shape(graph, reads, first, node, line, block.start) if recordable else None
            last = None if shape is None else build_run(shape, graph, self.scope, self.statics, self.source, rest)
            if last is not None:
                del self.omitted[key]
                if shape is not None:
                    self.shaped = shape, self.source[block.start : block.start + stride - 1]
                return last
            if rest.copies < 2:
                break
            pos, block = stop, rest
        self.restore(stop)
        return made

    def restore(self, pos: int) -> None:
        """Puts the tokens of the lines omitted after the line break at `pos` in after it."""
        block = self.omitted.pop(self.starts[pos])
        kinds, texts, starts = tokens_of(self.source, block)
        self.kinds[pos + 1 : pos + 1] = kinds
        self.texts[pos + 1 : pos + 1] = texts
        self.starts[pos + 1 : pos + 1] = starts

    def statement(self) -> int:
        """One statement; its node, or -1 for one that makes no node (`B, T = x.shape`)."""
        texts = self.texts
        pos = self.pos
        text, next_text = texts[pos], texts[pos + 1]  # a statement is never END: pos + 1 exists
        if next_text == "=" and self.kinds[pos] == NAME:
            if text not in self.scope:  # a name with a node has passed the check already
                self.check_name(text, self.starts[pos], self.end(pos))
            self.pos = pos + 2
            term = self.expr()
            node = term[0]
            if node >= 0 and not self.statics:
                names = self.graph.names
                if names[node] is None:
                    names[node] = text
                self.scope[text] = node
                return node
            return self.assign(text, term)
        if self.kinds[pos] == NAME:
            if next_text in _AUGMENTED:
                return self.augmented()
            if next_text == ",":
                return self.unpacking()
            if text == "for":
                return loops.loop(self)
        term = self.expr()
        return term[0] if term[0] >= 0 else self.operand(term)

    def assign(self, name: str, term: Term) -> int:
        """`name = term`: a node gets the name; a value known before the run (a tuple, a shape's
        size) is kept as that value, with no node; a number written out is a constant node (as it
        always was) that also keeps its value, for where a number is needed (range(n))."""
        node, literal, start, end = term
        if node < 0 and (not is_number(literal) or not _written(self.source[start:end])):
            self.unrecordable = True
            if name in self.scope:
                self.scope.pop(name)
            self.statics[name] = literal
            return -1
        if node < 0:
            node = self.operand(term)
            self.node_static[node] = plain(literal)
            self.unrecordable = True
        names = self.graph.names
        if names[node] is None:
            names[node] = name
        self.scope[name] = node
        if name in self.statics:
            del self.statics[name]
        return node

    def augmented(self) -> int:
        """`h += x` is `h = h + x`: a new node, as Python's `+=` is for an expression of tensors."""
        pos = self.pos
        name, operator = self.texts[pos], self.texts[pos + 1]
        text = _AUGMENTED_OPS.get(operator)
        if text is None:
            raise ProgramError(
                "forbidden",
                f"the operator {operator} is not part of the language",
                start=self.starts[pos + 1],
                end=self.end(pos + 1),
            )
        start, end = self.starts[pos], self.end(pos)
        self.check_name(name, start, end)
        left = self.resolve(name, start, end)
        self.pos = pos + 2
        right = self.expr()
        term = self.binary(_INFIX[text][1], text, left, right)
        return self.assign(name, term)

    def unpacking(self) -> int:
        """`B, T, C = x.shape`, `q, k, v = qkv.split(C, dim=2)`: one name per item."""
        kinds, texts = self.kinds, self.texts
        targets = []
        while True:
            pos = self.pos
            if kinds[pos] != NAME:
                raise self.unexpected(pos, after_term=False)
            self.check_name(texts[pos], self.starts[pos], self.end(pos))
            targets.append(texts[pos])
            if texts[pos + 1] == "=":
                self.pos = pos + 2
                break
            if texts[pos + 1] != ",":
                raise self.unexpected(pos + 1, after_term=True)
            self.pos = pos + 2
            if texts[self.pos] == "=":  # a trailing comma: `a, = x`
                self.pos += 1
                break
        term = self.expr()
        if self.texts[self.pos] == ",":  # `a, b = 1, 2`: a tuple without parentheses
            values = [term]
            while self.texts[self.pos] == "," and self.kinds[self.pos + 1] not in (NEWLINE, END):
                self.pos += 1
                values.append(self.expr())
            term = (-1, Terms(values), values[0][2], values[-1][3])
        count = self.count(term)
        if count != len(targets):
            raise ProgramError(
                "bad_arguments",
                f"{len(targets)} names cannot take the {count} items of {self.label(term)}",
                start=term[2],
                end=term[3],
            )
        items = self.items(term, "unpack")
        node = -1
        for name, item in zip(targets, items):
            node = self.assign(name, item)
        return node

    def count(self, term: Term) -> int:
        """How many items `items` would give (-1 for a term that has none)."""
        node, literal, _, _ = term
        if node >= 0:
            shape = self.graph.shapes[node]
            return shape[0] if shape else -1
        return len(literal) if isinstance(literal, (tuple, range)) else -1

    def items(self, term: Term, verb: str) -> list[Term]:
        """The items of a tuple, list, range or pair, or the rows of a tensor, as terms."""
        node, literal, start, end = term
        if node >= 0:
            shape = self.graph.shapes[node]
            if not shape:
                raise ProgramError("bad_arguments", f"cannot {verb} a 0-d tensor", start=start, end=end)
            library.check_count(shape[0], self, start, end)
            return [self.apply(OPS["index"], (node,), {"key": (k,)}, start, end) for k in range(shape[0])]
        if isinstance(literal, Terms):
            return list(literal)
        if isinstance(literal, (tuple, range)):
            library.check_count(len(literal), self, start, end)
            return [(-1, item, start, end) for item in literal]
        raise ProgramError("bad_arguments", f"cannot {verb} {describe(literal)}", start=start, end=end)

    def check_name(self, name: str, start: int, end: int) -> None:
        if name.startswith("__"):
            raise ProgramError("forbidden", f"names starting with __ ({name}) are not allowed", start=start, end=end)
        if keyword.iskeyword(name) or name in _LITERAL_NAMES:
            raise ProgramError(
                "forbidden", f"'{name}' is a Python keyword and cannot be assigned", start=start, end=end
            )

    # --- expressions --------------------------------------------------------------------------

    def expr(self, min_power: int = 0) -> Term:
        """Precedence climbing: binary operators that bind tighter than `min_power` extend `left`.

        A chain of one precedence is a loop here (each right operand returns at the next
        operator of the same power), so `x + x + ... + x` recurses one level, not once per `+`.

        The commonest operands are read here as prefix would read them, with fewer calls: a name
        with a node (see scope), and a call. The term being built is kept in four locals rather
        than a tuple until it is returned.
        """
        texts, scope, kinds = self.texts, self.scope, self.kinds
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
            elif (
                (kinds[pos] == NUMBER or texts[pos] == "-")
                and node >= 0
                and op is not _POW
                and type(op) is not str
                and (number := self.number_operand(pos, power))
            ):
                # A number, or a minus and a number, after a node: the constant node that expr(power)
                # and operand would make of it (a program of weights written out is mostly these).
                right_node, right_end = number
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
            if node < 0 or right_node < 0 or type(op) is str:
                if type(op) is str or (node < 0 and right_node < 0):  # // % comparisons, numbers
                    if right is None:
                        right = (right_node, None, self.starts[pos], right_end)
                    node, literal, start, end = self.binary(op, texts[pos - 1], (node, literal, start, end), right)
                    continue
                # Number literals become constant nodes now, the left operand's first.
                if node < 0:
                    node = self.operand((node, literal, start, end))
                if right_node < 0 and right is not None:  # a name's node (right is None) is never < 0
                    right_node = self.operand(right)
            node = self.graph.apply(op, (node, right_node), None, start, right_end)
            literal, end = None, right_end

    def number_operand(self, pos: int, power: int) -> tuple[int, int] | None:
        """At `pos`, the right operand of an operator of binding `power` whose left operand is a
        node: if it is a number (or a minus and a number, which binds tighter than any operator
        but **) followed by no operator that binds tighter than `power`, its constant node as
        expr(power) and operand make it (the number read by _number, the minus applied before
        float, as prefix does), and where it ends, with pos past it; else None (nothing read)."""
        kinds, texts = self.kinds, self.texts
        kind = kinds[pos]
        if kind == NUMBER:
            after = pos + 1
        elif texts[pos] == "-" and kind == OP and kinds[pos + 1] == NUMBER and self.depth < self.max_depth:
            after = pos + 2  # (at the nesting limit, prefix names the error)
        else:
            return None
        if _TIGHTNESS.get(texts[after], 0) > power:
            return None
        text, start = texts[after - 1], self.starts[after - 1]
        end = start + len(text)
        value = _number(text, start, end)
        if after == pos + 2:
            value, start = -value, self.starts[pos]
        self.pos = after
        return self.graph.leaf(None, float(value), (), False, start, end), end

    def prefix(self) -> Term:
        """A unary minus or plus, or an atom with its postfix attributes, calls and subscripts."""
        pos = self.pos
        kind, text, start, end = self.kinds[pos], self.texts[pos], self.starts[pos], self.end(pos)
        if kind == OP and (text == "-" or text == "+" or text == "~"):
            self.pos = pos + 1
            self.enter(start)
            operand = self.expr(_UNARY_POWER)  # -x ** 2 is -(x ** 2); -x * y is (-x) * y
            self.depth -= 1
            node, literal, _, end = operand
            if text == "+":
                return (node, literal, start, end)
            if text == "~":  # PyTorch's ~ on a bool tensor: logical not of a mask (never a number's bits)
                if node < 0:
                    raise ProgramError(
                        "forbidden", "~ is the logical not of a mask tensor, as ~mask", start=start, end=end
                    )
                return self.apply(_NOT, (node,), None, start, end)
            if node < 0 and _is_number(literal):
                if type(literal) is IntExpr or type(literal) is FloatExpr:  # -(2 * 3): a neg node when built
                    return (-1, remembered(-literal, (_NEG, operand, None, start, end)), start, end)
                return (-1, -literal, start, end)  # -2 is the constant -2, not neg(2)
            return self.apply(_NEG, (self.operand(operand),), None, start, end)
        if kind == NAME:
            term = self.name(text, start, end)
        elif kind == NUMBER:
            self.pos = pos + 1
            term = (-1, _number(text, start, end), start, end)
        elif kind == OP and text == "(":
            term = self.parenthesized()
        elif kind == OP and text == "[":
            term = self.list_literal()
        else:
            raise self.unexpected(pos, after_term=False)
        if self.texts[self.pos] in _POSTFIX:
            return self.postfix(term)
        return term

    def postfix(self, term: Term) -> Term:
        texts = self.texts
        while True:
            text = texts[self.pos]
            if text == ".":
                term = self.attribute(term)
            elif text == "[":
                term = subscripts.subscript(self, term)
            elif text == "(":
                raise self.unexpected(self.pos, after_term=True)
            else:
                return term

    def attribute(self, term: Term) -> Term:
        """`.name` after a term: a namespace's function or constant, a tensor's method or
        attribute, a pair's .values / .indices."""
        pos = self.pos
        name_kind, name, _, name_end = self.token(pos + 1)
        dot_start = self.starts[pos]
        if name_kind != NAME:
            raise ProgramError(
                "forbidden",
                "attribute access (.) must name an attribute, as in x.T or x.sum()",
                start=dot_start,
                end=self.end(pos),
            )
        if name.startswith("_"):
            raise ProgramError(
                "forbidden", f"attributes starting with _ (.{name}) are not allowed", start=dot_start, end=name_end
            )
        self.pos = pos + 2
        node, literal, start, _ = term
        calling = self.texts[self.pos] == "("
        if node < 0 and isinstance(literal, Namespace):
            return self.namespaced(literal, name, start, name_end, calling)
        if node >= 0 and calling:
            spelling = dialects.METHODS.get(name)
            if spelling is None:
                close = close_names(name, dialects.METHODS)
                hint = f"; did you mean .{' or .'.join(close)}()?" if close else ""
                raise ProgramError(
                    "unknown_function",
                    f"`.{name}()` is not a supported tensor method{hint}; supported methods: "
                    f"{', '.join(dialects.METHODS)}",
                    start=dot_start,
                    end=name_end,
                    suggestions=close,
                )
            positional, keywords, end = self.arguments()
            return library.call(self, spelling, f".{name}", term, positional, keywords, start, end)
        if node >= 0:
            shape = self.graph.shapes[node]
            if name == "T":
                return self.apply(_TRANSPOSE, (node,), None, start, name_end)
            if name == "mT":
                if len(shape) < 2:
                    raise ProgramError("bad_arguments", "x.mT needs at least 2 axes", start=start, end=name_end)
                return library.swapped(self, node, len(shape), len(shape) - 2, len(shape) - 1, start, name_end)
            if name == "shape":
                return (-1, tuple(shape), start, name_end)
            if name == "ndim":
                return (-1, len(shape), start, name_end)
            if name in dialects.METHODS:
                raise ProgramError(
                    "bad_arguments", f"`.{name}` is a method: call it, as in x.{name}()", start=dot_start, end=name_end
                )
            close = close_names(name, [*dialects.ATTRIBUTES, *dialects.METHODS])
            hint = f"; did you mean .{' or .'.join(close)}?" if close else ""
            raise ProgramError(
                "forbidden",
                f"attribute access (.{name}) is not part of the language{hint}; tensors have "
                f"{', '.join('.' + a for a in dialects.ATTRIBUTES)} and the methods listed at GET /ops",
                start=dot_start,
                end=name_end,
                suggestions=close,
            )
        if isinstance(literal, Pair) and name in ("values", "indices"):
            if name == "indices" and len(literal) < 2:
                raise ProgramError(
                    "forbidden", "indices of max and min are not available yet", start=start, end=name_end
                )
            item = literal[0 if name == "values" else 1]
            return (item[0], item[1], start, name_end)
        raise ProgramError(
            "forbidden",
            f"attribute access (.{name}) on {describe(literal)} is not part of the language",
            start=dot_start,
            end=name_end,
        )

    def namespaced(self, namespace: str, name: str, start: int, end: int, calling: bool) -> Term:
        """`torch.name`, `F.name`, `np.name`, `math.name`, by the namespace table."""
        path = f"{namespace}.{name}"
        if path in dialects.ALIASES or path in dialects.PREFIXES:
            return (-1, Namespace(path), start, end)
        key = dialects.ALIASES.get(namespace)
        if key is None:  # torch.nn.something other than functional
            raise ProgramError(
                "unknown_function",
                f"`{path}` is not supported; of {namespace}, only {namespace}.functional is",
                start=start,
                end=end,
            )
        table = dialects.NAMESPACES[key]
        constants = dialects.CONSTANTS.get(key, {})
        if not calling and name in constants:
            return (-1, constants[name], start, end)
        if not calling and name in dialects.DTYPES.get(key, ()):
            return (-1, Dtype(path), start, end)
        if calling and name in table:
            positional, keywords, call_end = self.arguments()
            if key == "math":
                return library.math_call(self, name, positional, keywords, start, call_end)
            return library.call(self, table[name], path, None, positional, keywords, start, call_end)
        if name in table:
            raise ProgramError(
                "unknown_name", f"`{path}` is a function: call it, as in {path}(x)", start=start, end=end
            )
        close = close_names(name, [*table, *constants])
        hint = f"; did you mean {' or '.join(f'{namespace}.{c}' for c in close)}?" if close else ""
        if name in dialects.HINTS:
            close, hint = [], f"; {dialects.HINTS[name]}"
        kind = "functions" if calling or not constants else "functions and constants"
        raise ProgramError(
            "unknown_function",
            f"`{path}` is not supported; supported {namespace} {kind}: "
            f"{', '.join([*table, *constants] if kind != 'functions' else table)}{hint}",
            start=start,
            end=end,
            suggestions=[f"{namespace}.{c}" for c in close],
        )

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
            if text in _BUILTINS and text not in self.scope and text not in self.statics and text not in self.inputs:
                return builtins.call(self, text, start)
            return self.call()
        self.pos += 1
        return self.resolve(text, start, end)

    def parenthesized(self) -> Term:
        open_start = self.starts[self.pos]
        self.pos += 1
        self.enter(open_start)
        items, is_tuple = self.comma_items(")", self.expr, lambda: self.unclosed(open_start))
        close_end = self.end(self.pos)
        self.pos += 1
        self.depth -= 1
        if not is_tuple and len(items) == 1:
            node, literal, _, _ = items[0]
            return (node, literal, open_start, close_end)
        if all(node < 0 and _is_number(literal) for node, literal, _, _ in items):
            return (-1, tuple(literal for _, literal, _, _ in items), open_start, close_end)
        return (-1, Terms(items), open_start, close_end)

    def list_literal(self) -> Term:
        """`[a, b]` (torch.cat's tensors) or `[0, 2]` (an index, a shape)."""
        kinds, texts = self.kinds, self.texts
        open_start = self.starts[self.pos]
        self.pos += 1
        self.enter(open_start)
        depth, pos = 0, self.pos
        while kinds[pos] != END and kinds[pos] != NEWLINE:  # a comprehension is refused before its names are read
            text = texts[pos]
            if text in "([{" and kinds[pos] == OP:
                depth += 1
            elif text in ")]}" and kinds[pos] == OP:
                if depth == 0:
                    break
                depth -= 1
            elif text == "for" and depth == 0 and kinds[pos] == NAME:
                raise ProgramError(
                    "forbidden",
                    "list comprehensions are not part of the language; "
                    "a loop is written `for i in range(k):` on lines of its own",
                    start=open_start,
                    end=open_start + 1,
                )
            pos += 1
        items, _ = self.comma_items("]", self.expr, self.unclosed_bracket)
        close_end = self.end(self.pos)
        self.pos += 1
        self.depth -= 1
        if all(node < 0 and _is_number(literal) for node, literal, _, _ in items):
            return (-1, NumberList(literal for _, literal, _, _ in items), open_start, close_end)
        return (-1, TermList(items), open_start, close_end)

    def arguments(self) -> tuple[list[Term], dict[str, Term], int]:
        """A call's arguments, `(` at self.pos: positional terms, keyword terms, and the end of `)`."""
        kinds, texts = self.kinds, self.texts
        open_start = self.starts[self.pos]
        self.pos += 1
        self.enter(open_start)
        positional: list[Term] = []
        keywords: dict[str, Term] = {}
        while texts[self.pos] != ")":
            pos = self.pos
            text = texts[pos]
            if text == "*" and not keywords:  # x.view(*x.shape[:-1], n_head, -1): a tuple known now
                self.pos = pos + 1
                starred = self.expr()
                if starred[0] >= 0 or not isinstance(starred[1], (tuple, range)):
                    raise ProgramError(
                        "forbidden",
                        "a starred argument must be a tuple known before the program runs, such as *x.shape[:-1]",
                        start=self.starts[pos],
                        end=starred[3],
                    )
                library.check_count(len(starred[1]), self, starred[2], starred[3])
                positional.extend(
                    starred[1]
                    if isinstance(starred[1], Terms)
                    else [(-1, item, starred[2], starred[3]) for item in starred[1]]
                )
            elif text in _STARS:
                raise ProgramError(
                    "forbidden",
                    f"starred arguments ({text}) are not part of the language",
                    start=self.starts[pos],
                    end=self.end(pos),
                )
            elif kinds[pos] == NAME and texts[pos + 1] == "=":
                self.pos = pos + 2
                if text in keywords:
                    raise ProgramError(
                        "bad_arguments", f"{text}= is given twice", start=self.starts[pos], end=self.end(pos)
                    )
                keywords[text] = self.word() if kinds[self.pos] == STRING else self.expr()
            else:
                if keywords and kinds[pos] not in (NEWLINE, END):
                    raise ProgramError(
                        "bad_arguments",
                        "a positional argument cannot follow a keyword argument",
                        start=self.starts[pos],
                        end=self.end(pos),
                    )
                positional.append(self.word() if kinds[pos] == STRING else self.expr())
            text = texts[self.pos]
            if text == ",":
                self.pos += 1
            elif text != ")":
                if kinds[self.pos] in (NEWLINE, END):
                    raise self.unclosed(open_start)
                raise self.unexpected(self.pos, after_term=True)
        end = self.starts[self.pos] + 1
        self.pos += 1
        self.depth -= 1
        return positional, keywords, end

    def word(self) -> Term:
        """A quoted word at self.pos (`"sum"`, `'-inf'`): the quote, the word's tokens, the same quote."""
        kinds, texts, starts = self.kinds, self.texts, self.starts
        pos = self.pos
        quote, start = texts[pos], starts[pos]
        if quote not in ("'", '"'):
            raise ProgramError(
                "forbidden",
                'strings are not part of the language but for plain quoted words such as "sum" and "-inf"',
                start=start,
                end=self.end(pos),
            )
        stop = pos + 1
        # (the closing quote may come with the letters before it, read as a string's prefix: 'bi,bi->b')
        while kinds[stop] not in (NEWLINE, END) and not (kinds[stop] == STRING and texts[stop][-1] == quote):
            stop += 1
            if stop - pos > _WORD_TOKENS:
                break
        if kinds[stop] != STRING or texts[stop][-1] != quote:
            raise ProgramError(
                "forbidden",
                'strings are not part of the language but for plain quoted words such as "sum" and "-inf"',
                start=start,
                end=self.end(pos),
            )
        text = self.source[start + 1 : self.end(stop) - 1]
        if not text.translate(_WORD_MARKS).isalnum():
            raise ProgramError(
                "forbidden",
                'strings are not part of the language but for plain quoted words such as "sum" and "-inf"',
                start=start,
                end=self.end(stop),
            )
        self.pos = stop + 1
        return (-1, Word(text), start, self.end(stop))

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
                "unknown_function",
                f"unknown function '{name}'{hint}",
                start=start,
                end=start + len(name),
                suggestions=close,
            )
        if name in _BARE:  # einsum('ij,jk', a, b): as torch spells it, the equation first
            self.pos = pos + 1
            given, named, end = self.arguments()
            return library.call(self, _BARE[name], name, None, given, named, start, end)
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
                    "forbidden",
                    f"starred arguments ({text}) are not part of the language",
                    start=self.starts[pos],
                    end=self.end(pos),
                )
            if kinds[pos] == NAME and texts[pos + 1] == "=":  # a name is never the last token
                self.pos = pos + 2
                self.check_keyword(op, text, keywords, self.starts[pos], self.end(pos))
                enum = kinds[self.pos] == STRING or any(p.name == text and p.kind == "enum" for p in op.params)
                keywords[text] = self.choice(op, text) if enum else self.expr()
            else:
                if keywords and kinds[pos] != END:  # at the end, the value missing is the error
                    raise ProgramError(
                        "bad_arguments",
                        "a positional argument cannot follow a keyword argument",
                        start=self.starts[pos],
                        end=self.end(pos),
                    )
                term = self.expr()
                if (
                    term[0] < 0
                    and (type(term[1]) is IntExpr or type(term[1]) is FloatExpr)
                    and (len(positional) < len(op.operands))
                ):
                    term = (self.operand(term), None, term[2], term[3])  # built where it always was
                positional.append(term)
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
            # What bind would give; a call of one operand that is a node is most calls.
            if len(positional) == 1 and positional[0][0] >= 0:
                operands: tuple[int, ...] = (positional[0][0],)
            else:
                operands = tuple(map(self.operand, positional))
            params = None
        else:
            operands, params = self.bind(op, positional, keywords, start, end)
        if self.expand is not None and op.decomposition is not None and self.expand.opens(op.name):
            return (self.expand.call(self, op, operands, params, start, end), None, start, end)
        return (self.graph.apply(op, operands, params, start, end), None, start, end)  # self.apply, inlined

    def build_call(self, op: Op, operands: list[Term], params: dict[str, Term], start: int, end: int) -> Term:
        """The op with its operands, and its parameters by name, as a bare call builds it (the
        namespaced and method spellings, app/lang/library.py, come here once bound)."""
        for name in params:
            self.check_keyword(op, name, {}, params[name][2], params[name][3])
        bound, values = self.bind(op, operands, params, start, end)
        if self.expand is not None and op.decomposition is not None and self.expand.opens(op.name):
            return (self.expand.call(self, op, bound, values, start, end), None, start, end)
        return self.apply(op, bound, values, start, end)

    def choice(self, op: Op, name: str) -> Term:
        """The value of keyword `name` when it is a string or the parameter is an enum: a string is
        allowed only where the op table declares an enum, and only as a plain quoted word."""
        pos = self.pos
        text, start, end = self.texts[pos], self.starts[pos], self.end(pos)  # the opening quote
        param = next(p for p in op.params if p.name == name)  # check_keyword found it
        if param.kind != "enum":
            raise ProgramError(
                "forbidden",
                f"strings are not part of the language; only an option such as "
                f'reduction="sum" takes one, and {op.name}\'s {name} is not such an option',
                start=start,
                end=end,
            )
        # The tokenizer gives a quote as a token of its own: a word is quote, name, the same quote.
        kinds, texts, starts = self.kinds, self.texts, self.starts
        quoted = kinds[pos] == STRING and (
            kinds[pos + 1] == NAME
            and starts[pos + 1] == end
            and texts[pos + 2] == text
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

    def check_keyword(self, op: Op, name: str, given: dict[str, Any], start: int, end: int) -> None:
        names = [*op.optional, *(p.name for p in op.params)]
        if name in given:
            raise ProgramError("bad_arguments", f"{op.name} got {name}= twice", start=start, end=end)
        if name not in names:
            known = f"its keyword arguments are {', '.join(names)}" if names else "it takes no keyword arguments"
            raise ProgramError(
                "bad_arguments",
                f"{op.name} has no keyword argument '{name}': {known} (signature {op.signature()})",
                start=start,
                end=end,
            )

    def bind(
        self, op: Op, positional: list[Term], keywords: dict[str, Term], start: int, end: int
    ) -> tuple[tuple[int, ...], dict[str, Any] | None]:
        """Operands by position; then parameters by position or keyword, checked by kind."""
        count = len(op.operands)
        if op.variadic:
            # The last operand takes every positional argument from there on (a list's items too);
            # the parameters are keywords.
            flat: list[Term] = []
            for term in positional:
                flat.extend(term[1] if term[0] < 0 and isinstance(term[1], Terms) else (term,))
            positional = flat
            count = max(len(positional), count - 1)
            if len(positional) < len(op.operands) - 1:
                raise ProgramError(
                    "bad_arguments",
                    f"{op.name} needs {', '.join(op.operands[:-1])}: {op.signature()}",
                    start=start,
                    end=end,
                )
        if op.optional:
            positional = self.optional_operands(op, positional, keywords, start, end)
        if len(positional) < count or len(positional) > count + len(op.params):
            raise ProgramError(
                "bad_arguments",
                f"{op.name} takes {count} operand{'s' if count > 1 else ''} ({', '.join(op.operands)}), "
                f"got {len(positional)} argument{'s' if len(positional) != 1 else ''}: {op.signature()}",
                start=start,
                end=end,
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
            given_term = given.get(param.name)
            if given_term is None:
                if param.required:
                    raise ProgramError(
                        "bad_arguments", f"{op.name} needs {param.name}: {op.signature()}", start=start, end=end
                    )
                params[param.name] = param.default
            else:
                params[param.name] = _param_value(op, param, self.static_term(given_term))
        return operands, params

    def optional_operands(
        self, op: Op, positional: list[Term], keywords: dict[str, Term], start: int, end: int
    ) -> list[Term]:
        """The operands of an op with optional ones (`bias=None`), all by position: those given by
        keyword are moved into place, and one left out or given as None becomes an empty constant
        of shape (0,), which the op reads as "not given" (keywords is consumed)."""
        required = len(op.operands) - len(op.optional)
        given: list[Term | None] = list(positional[: len(op.operands)])
        rest = positional[len(op.operands) :]
        if rest and any(name in keywords for name in op.optional):
            raise ProgramError(
                "bad_arguments",
                f"{op.name}: parameters by position cannot follow operands given by keyword: {op.signature()}",
                start=start,
                end=end,
            )
        for k, name in enumerate(op.optional, required):
            term = keywords.pop(name, None)
            if term is not None:
                if k < len(given):
                    raise ProgramError("bad_arguments", f"{op.name} got {name} twice", start=term[2], end=term[3])
                given += [None] * (k - len(given)) + [term]
        if len(given) < required:  # bind reports the missing operands (no gap is made before `required`)
            return [term for term in given if term is not None]
        absent = end - 1  # an operand left out stands at the closing parenthesis
        filled: list[Term] = []
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
        if node is None:
            statics = self.statics
            if statics and name in statics:
                self.unrecordable = True
                return (-1, statics[name], start, end)
            if name in self.inputs:
                given = self.inputs[name]
                node = self.graph.leaf(name, given.value, given.shape, given.requires_grad, start, end)
                self.scope[name] = node
        if node is not None:
            return (node, None, start, end)
        if name in CONSTANTS:
            return (-1, CONSTANTS[name], start, end)
        if name in dialects.ALIASES or name in dialects.PREFIXES:
            return (-1, Namespace(name), start, end)
        if name in OPS or name in _BUILTINS:
            raise ProgramError(
                "unknown_name", f"'{name}' is a function: call it, as in {name}(x)", start=start, end=end
            )
        known = list(dict.fromkeys([*self.scope, *self.statics, *self.inputs, *CONSTANTS]))
        close = close_names(name, known)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise ProgramError(
            "missing_input",
            f"'{name}' has no value: it is not assigned before it is used and is not among the inputs{hint}",
            start=start,
            end=end,
            suggestions=close,
        )

    def operand(self, term: Term) -> int:
        """The term as a node: a number literal becomes a constant node here."""
        node, literal, start, end = term
        if node >= 0:
            return node
        if type(literal) is IntExpr or type(literal) is FloatExpr:
            return self.built(term)
        if not _is_number(literal):
            if isinstance(literal, (tuple, Namespace, range, Word)) or literal is None or isinstance(literal, bool):
                shown = describe(literal)
                raise ProgramError(
                    "bad_arguments",
                    f"{shown} is not a value; it can only be an argument such as axis=(0, 1)",
                    start=start,
                    end=end,
                )
            raise ProgramError("bad_arguments", f"{describe(literal)} is not a value", start=start, end=end)
        return self.graph.leaf(None, float(literal), (), False, start, end)

    def built(self, term: Term) -> int:
        """A number made by arithmetic on numbers of the program (see app/lang/static.py), as the
        constant and op nodes a node-by-node parse builds: each operand that is itself made so
        first, then the plain numbers (the left one first), then the op. Iterative: a chain of
        10,000 additions of numbers is as deep."""
        stack: list[tuple[Term, bool]] = [(term, False)]
        done: list[int] = []
        while stack:
            item, expanded = stack.pop()
            node, literal, start, end = item
            parts = getattr(literal, "parts", None) if node < 0 else None
            if parts is None:
                done.append(node if node >= 0 else self.graph.leaf(None, float(literal), (), False, start, end))
                continue
            op, left, right, start, end = parts
            if right is None:  # -(2 * 3)
                if not expanded:
                    stack += [(item, True), (left, False)]
                else:
                    done.append(self.graph.apply(op, (done.pop(),), None, start, end))
                continue
            if not expanded:
                stack.append((item, True))
                # Popped in reverse: compound operands first (left, right), then the plain ones.
                plain_ones = [t for t in (left, right) if not hasattr(t[1], "parts") or t[0] >= 0]
                made = [t for t in (left, right) if hasattr(t[1], "parts") and t[0] < 0]
                stack += [(t, False) for t in reversed(plain_ones)]
                stack += [(t, False) for t in reversed(made)]
                continue
            # The two operands' nodes are the last two done, in the order they were built.
            b, a = done.pop(), done.pop()
            left_made = hasattr(left[1], "parts") and left[0] < 0
            right_made = hasattr(right[1], "parts") and right[0] < 0
            if right_made and not left_made:
                a, b = b, a  # the right one was built first
            done.append(self.graph.apply(op, (a, b), None, start, end))
        return done[-1]

    def binary(self, op: Any, text: str, left: Term, right: Term) -> Term:
        """`left text right` where an operand is not a node yet, or for // % and comparisons."""
        left_node, left_value, start, _ = left
        right_node, right_value, _, end = right
        if type(op) is str:
            if text in COMPARE:
                if self.texts[self.pos] in COMPARE:
                    raise ProgramError(
                        "forbidden",
                        "chained comparisons (a < b < c) are not part of the language",
                        start=self.starts[self.pos],
                        end=self.end(self.pos),
                    )
                # Numbers compare now (`n > 0`); anything with a node (inputs too) makes a mask.
                if left_node < 0 and right_node < 0 and _is_number(left_value) and _is_number(right_value):
                    return (-1, COMPARE[text](plain(left_value), plain(right_value)), start, end)
                compare = OPS.get(_COMPARISON_OPS[text])
                if compare is None:
                    raise ProgramError(
                        "forbidden", f"comparisons ({text}) of tensors are not available yet", start=start, end=end
                    )
                return self.apply(compare, (self.operand(left), self.operand(right)), None, start, end)
            a = self.static(left, f"the left side of {text}", "a number")
            b = self.static(right, f"the right side of {text}", "a number")
            if not (_is_number(a) and _is_number(b)):
                raise ProgramError("bad_arguments", f"{text} works on numbers", start=start, end=end)
            try:
                return (-1, arithmetic(text, plain(a), plain(b)), start, end)
            except ZeroDivisionError:
                raise ProgramError("bad_arguments", f"{text} by zero", start=start, end=end) from None
        if (
            left_node < 0
            and right_node < 0
            and text == "+"
            and type(left_value) in (tuple, NumberList)
            and type(right_value) in (tuple, NumberList)
        ):  # x.shape[:-1] + (n_head, hs)
            return (-1, tuple(left_value) + tuple(right_value), start, end)
        if (
            left_node < 0
            and right_node < 0
            and _is_number(left_value)
            and _is_number(right_value)
            and text != "@"
            and not (_written(self.source[start : left[3]]) and _written(self.source[right[2] : end]))
        ):
            # A number computed from a shape or a name (`B * T`): a value, built only where it is an
            # operand. Numbers written out (`2 * pi`) are built now, as they always were.
            value = arithmetic(text, plain(left_value), plain(right_value))
            return (-1, remembered(value, (op, left, right, start, end)), start, end)
        # Number literals become constant nodes now, the left operand's first.
        a = left_node if left_node >= 0 else self.operand(left)
        b = right_node if right_node >= 0 else self.operand(right)
        return (self.graph.apply(op, (a, b), None, start, end), None, start, end)

    # --- values known before the run ------------------------------------------------------------

    def static_or_none(self, term: Term) -> Any:
        """The term's value if it is known before the program runs (a number, a tuple of them, an
        integer input, a constant node), else None."""
        node, literal, _, _ = term
        if node >= 0:
            return self.node_value(node, _STATIC_DEPTH)
        if isinstance(literal, Terms):
            items = [self.static_or_none(item) for item in literal]
            if any(item is None for item in items):
                return None
            return NumberList(items) if isinstance(literal, TermList) else tuple(items)
        return literal

    def node_value(self, node: int, depth: int) -> Any:
        """A scalar node's value where it is known before the run: a number assigned (`n = 3`),
        a scalar input (a whole number is an int), or + - * / ** of such nodes (`n - 1`, computed
        here as Python computes it); else None."""
        value = self.node_static.get(node)
        graph = self.graph
        if value is not None or graph.shapes[node]:
            return value
        op = graph.ops[node]
        if op is None:
            given = graph.values[node]  # a scalar input or constant: a number where one is needed
            if isinstance(given, float) and given.is_integer() and abs(given) < 2**53:
                return int(given)
            return given if isinstance(given, float) and graph.constant[node] else None
        text = _STATIC_OPS.get(op.name)
        if text is None or depth == 0:
            return None
        values = [self.node_value(arg, depth - 1) for arg in graph.args[node]]
        if any(v is None for v in values):
            return None
        if text == "neg":
            return -values[0]
        try:
            return arithmetic(text, values[0], values[1])
        except ZeroDivisionError:
            return None

    def static(self, term: Term, what: str, kind: str) -> Any:
        """The term's value known before the run, or an error naming `what` needs it."""
        value = self.static_or_none(term)
        if value is None and term[0] < 0 and isinstance(term[1], Terms):
            for item in term[1]:  # the first item that is not known: named
                self.static(item, what, kind)
        if value is None and term[0] >= 0:
            raise ProgramError(
                "bad_arguments",
                f"{what} must be {kind} known before the program runs (a number, a shape, "
                f"an integer input); {self.label(term)} is a tensor",
                start=term[2],
                end=term[3],
            )
        return value

    def static_term(self, term: Term) -> Term:
        """A parameter's term with its value known before the run put in (an integer input, a
        tuple of sizes), or the term itself."""
        node, literal, start, end = term
        if node < 0 and type(literal) in (tuple, NumberList, IntExpr, FloatExpr):
            return (-1, plain(literal), start, end)
        if node >= 0 or isinstance(literal, Terms):
            value = self.static_or_none(term)
            if value is not None:
                return (-1, plain(value), start, end)
        return term

    def label(self, term: Term) -> str:
        """How an error names a term: its node's label, or its source text."""
        if term[0] >= 0:
            return self.graph.label(term[0])
        return " ".join(self.source[term[2] : term[3]].split())[:40]

    def apply(self, op: Op, operands: tuple[int, ...], params: dict[str, Any] | None, start: int, end: int) -> Term:
        return (self.graph.apply(op, operands, params, start, end), None, start, end)

    # --- errors -------------------------------------------------------------------------------

    def enter(self, start: int) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise LimitExceeded(
                f"the expression is nested more than {self.max_depth} levels deep", start=start, end=start + 1
            )

    def comma_items(
        self, close: str, read_item: Callable[[], _Item], unclosed: Callable[[], ProgramError]
    ) -> tuple[list[_Item], bool]:
        """The comma-separated items up to `close` (the opening bracket read), leaving pos on it:
        the items, and whether a comma was seen (a tuple). A line that ends first is `unclosed()`."""
        kinds, texts = self.kinds, self.texts
        items: list[_Item] = []
        comma = False
        while texts[self.pos] != close:
            items.append(read_item())
            text = texts[self.pos]
            if text == ",":
                comma = True
                self.pos += 1
            elif text != close:
                if kinds[self.pos] in (NEWLINE, END):
                    raise unclosed()
                raise self.unexpected(self.pos, after_term=True)
        return items, comma

    def unclosed_bracket(self) -> ProgramError:
        start = self.starts[self.pos]
        return ProgramError(
            "syntax_error", "expected ',' or ']' to close the '[' opened earlier", start=start, end=start
        )

    def unclosed(self, open_start: int) -> ProgramError:
        kind, text, start, end = self.token(self.pos)
        found = "the end of the line" if kind in (NEWLINE, END) else repr(text)
        return ProgramError(
            "syntax_error",
            f"expected ',' or ')' to close the '(' opened earlier, found {found}",
            start=start,
            end=max(end, start + 1) if kind != END else start,
        )

    def unexpected(self, pos: int, after_term: bool) -> ProgramError:
        """The error for the token at `pos`, which cannot come where it does."""
        kind, text, start, end = self.token(pos)
        where: _Where = {"start": start, "end": end}
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
                return ProgramError(
                    "forbidden", f"the operator {text} is not part of the language; {_ALLOWED}", **where
                )
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


_Word = Word  # a string literal of the program: an enum parameter's value, or float('inf')'s


_WRITTEN_CHARS = frozenset("0123456789 \t\n\\.+-*/()_eE")


def _written(text: str) -> bool:
    """Whether a number's text is numbers written out (`3`, `2 * pi`, `-1e-3`): such a number
    assigned to a name is a constant node, as it always was. A number computed from a shape, a
    name or a function (`C // n_head`, `x.shape[0]`) is a value with no node until it is used."""
    text = text.replace("pi", "")
    return "//" not in text and set(text) <= _WRITTEN_CHARS


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
            "bad_arguments",
            f"{op.name}'s {param.name} must be {described}, written out in the program",
            start=start,
            end=end,
        )
    ints = isinstance(value, int) and not isinstance(value, bool)
    # Tuples hold numbers only (see parenthesized); every kind but "numbers" wants integers.
    int_tuple = isinstance(value, tuple) and all(isinstance(item, int) for item in value)
    # Computed integers reach 2**256 (app/lang/static.py); numpy's and the shapes' arithmetic take 64
    # bits, and an offset such as tril's diagonal is added to a size there.
    bound = _INT64 if param.kind != "int" else _INT64 // 2
    if node < 0 and (ints or int_tuple) and any(abs(v) > bound for v in (value if int_tuple else (value,))):
        raise ProgramError(
            "bad_arguments",
            f"{op.name}'s {param.name} is too large: integer parameters are limited to ±{bound}",
            start=start,
            end=end,
        )
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
        if param.kind == "number" and _is_number(value):
            return float(value)
        if param.kind == "bound" and (value is None or _is_number(value)):
            return value if value is None else float(value)
        if param.kind == "int" and ints:
            return value
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
        "number": "a number such as 0.5 or float('-inf')",
        "bound": "None or a number such as 0",
        "int": "an integer such as -1",
        "key": "built from a subscript: write x[...]",
    }.get(param.kind, "a value of kind " + param.kind)
    if param.kind == "key":
        raise ProgramError("bad_arguments", f"{op.name}'s key is {expected}", start=start, end=end)
    raise ProgramError(
        "bad_arguments",
        f"{op.name}'s {param.name} must be {expected}, written out in the program",
        start=start,
        end=end,
    )
