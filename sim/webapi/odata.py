"""OData system query options as Dataverse reads them: $select, $filter, $orderby, $top,
$count, $expand (reference/dataverse.md §0, §6.6, §9).

`$filter` is parsed by `odata-query` into its AST and compiled here into a predicate over
in-memory rows. Dataverse semantics kept:

- string comparisons and `contains` / `startswith` / `endswith` ignore case (the database
  collation is case-insensitive);
- operands must have compatible Edm types ("A binary operator with incompatible types was
  detected…"), so a GUID is written unquoted and a quoted GUID does not match a lookup;
- `null` compares with `eq` / `ne` only; a missing value never satisfies `lt`/`le`/`gt`/`ge`;
- a lookup is filtered as `_<name>_value`; one level of navigation (`emailserverprofile/name`)
  reaches a column of the related row.

Anything the sim does not implement (lambda operators, arithmetic, Dataverse query functions)
is answered with a 400, never ignored.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, Final

from odata_query import ast
from odata_query import exceptions as odata_exceptions
from odata_query.grammar import ODataLexer, ODataParser

from sim.state import Row
from sim.webapi import errors
from sim.webapi.tables import Column, Kind, ManyToMany, OneToMany, Table
from sim.webapi.tables import table as table_for

Predicate = Callable[[Row], bool]
RowLookup = Callable[[str, str], Row | None]  # (entity set, key) -> row

MAX_PAGE_SIZE: Final = 5000  # default and maximum page size (reference §6.6)
MAX_COUNT: Final = 5000  # @odata.count counts at most this many rows (§6.6)

SUPPORTED_OPTIONS: Final = frozenset(
    {"$select", "$filter", "$orderby", "$top", "$count", "$expand", "$skiptoken"}
)
KNOWN_UNSUPPORTED: Final = {
    "$skip": "The query parameter $skip is not supported",
    "$search": "The query parameter $search is not supported",
    "$apply": "The query parameter $apply is not supported by the sim",
    "$format": "The query parameter $format is not supported by the sim",
    "$levels": "The query parameter $levels is not supported by the sim",
}

_NUMERIC: Final = frozenset({"Edm.Int32", "Edm.Int64", "Edm.Double", "Edm.Decimal"})
_DATES: Final = frozenset({"Edm.DateTimeOffset", "Edm.Date"})
_OPERATOR_KIND: Final[dict[type[ast._Comparator], str]] = {
    ast.Eq: "Equal",
    ast.NotEq: "NotEqual",
    ast.Lt: "LessThan",
    ast.LtE: "LessThanOrEqual",
    ast.Gt: "GreaterThan",
    ast.GtE: "GreaterThanOrEqual",
}
_STRING_FUNCTIONS: Final = frozenset({"contains", "startswith", "endswith"})


# ---- values ------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def parse_datetime(text: str) -> datetime | None:
    """An ISO 8601 date or date-time as an aware UTC datetime; None when unreadable."""
    s = text.strip()
    try:
        if len(s) == 10:
            d = date.fromisoformat(s)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        if s.endswith(("Z", "z")):
            s = s[:-1] + "+00:00"
        value = datetime.fromisoformat(s)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def canonical_datetime(value: datetime) -> str:
    """The form the sim stores date-times in (the same as `sim.state.iso`)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_guid(text: str) -> str | None:
    """A GUID in its lower-case 8-4-4-4-12 form; None when `text` is not one."""
    if len(text) != 36:
        return None
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


def _full_name(ident: ast.Identifier) -> str:
    return ".".join((*ident.namespace, ident.name))


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def sort_value(col: Column, value: Any) -> Any:
    """A value that orders the way Dataverse orders the column (strings without case)."""
    if value is None:
        return None
    if col.kind is Kind.DATETIME and isinstance(value, str):
        parsed = parse_datetime(value)
        return parsed.timestamp() if parsed else value
    if isinstance(value, bool):
        return int(value)
    return _fold(value)


# ---- $select ---------------------------------------------------------------------------


def parse_select(table: Table, text: str | None) -> list[str] | None:
    """Selected JSON property names, or None for all columns."""
    if text is None:
        return None
    names: list[str] = []
    for raw in text.split(","):
        name = raw.strip()
        if not name:
            raise errors.syntax_error()
        if name == "*":
            return None
        col = table.columns.get(name)
        if col is None or not col.read:
            raise errors.property_not_found(name, table.type_name)
        if name not in names:
            names.append(name)
    return names


# ---- $orderby --------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderBy:
    column: Column
    descending: bool


def parse_orderby(table: Table, text: str | None) -> list[OrderBy]:
    if text is None:
        return []
    result: list[OrderBy] = []
    for raw in text.split(","):
        parts = raw.split()
        if not parts or len(parts) > 2:
            raise errors.syntax_error()
        name = parts[0]
        direction = parts[1].lower() if len(parts) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise errors.bad_query(f"Syntax error at position {len(name) + 1} in '{raw.strip()}'.")
        col = table.columns.get(name)
        if col is None or not col.read:
            raise errors.property_not_found(name, table.type_name)
        result.append(OrderBy(col, direction == "desc"))
    return result


# ---- $top / $count -----------------------------------------------------------------------


def parse_top(text: str | None) -> int | None:
    if text is None:
        return None
    stripped = text.strip()
    if not stripped.isdigit():
        raise errors.bad_query(
            f"Invalid value '{text}' for $top query option found. The $top query option "
            "requires a non-negative integer value."
        )
    return int(stripped)


def parse_count(text: str | None) -> bool:
    if text is None:
        return False
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise errors.bad_query(
            f"'{text}' is not a valid count option. The $count query option requires "
            "'true' or 'false'."
        )
    return value == "true"


# ---- $filter ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Operand:
    fn: Callable[[Row], Any]
    edm: str  # "null" for the null literal
    constant: bool = False


def _incompatible(left: str, right: str, kind: str) -> errors.DataverseFault:
    return errors.bad_query(
        "A binary operator with incompatible types was detected. Found operand types "
        f"'{left}' and '{right}' for operator kind '{kind}'."
    )


def _compatible(left: str, right: str) -> bool:
    if "null" in (left, right) or left == right:
        return True
    if left in _NUMERIC and right in _NUMERIC:
        return True
    return left in _DATES and right in _DATES


class _FilterCompiler:
    def __init__(self, table: Table, lookup_row: RowLookup) -> None:
        self.table = table
        self.lookup_row = lookup_row

    # -- operands

    def column(self, table: Table, name: str) -> Column:
        col = table.columns.get(name)
        if col is None or not col.read:
            raise errors.property_not_found(name, table.type_name)
        return col

    def value_getter(self, col: Column) -> Callable[[Row], Any]:
        key = col.json_name
        if col.kind is Kind.DATETIME:

            def get_dt(row: Row) -> Any:
                v = row.get(key)
                return parse_datetime(v) if isinstance(v, str) else v

            return get_dt
        return lambda row: row.get(key)

    def operand(self, node: ast._Node) -> _Operand:
        if isinstance(node, ast.Identifier):
            if node.namespace:
                raise errors.bad_query(
                    f"The property '{_full_name(node)}' is not supported in a $filter."
                )
            col = self.column(self.table, node.name)
            return _Operand(self.value_getter(col), col.kind.edm)
        if isinstance(node, ast.Attribute):
            return self.navigation_operand(node)
        if isinstance(node, ast.Null):
            return _Operand(lambda row: None, "null", constant=True)
        if isinstance(node, ast.Boolean):
            b = node.py_val
            return _Operand(lambda row: b, "Edm.Boolean", constant=True)
        if isinstance(node, ast.Integer):
            i = int(node.val)
            edm = "Edm.Int32" if -(2**31) <= i < 2**31 else "Edm.Int64"
            return _Operand(lambda row: i, edm, constant=True)
        if isinstance(node, ast.Float):
            f = float(node.val)
            return _Operand(lambda row: f, "Edm.Double", constant=True)
        if isinstance(node, ast.String):
            s = node.val
            return _Operand(lambda row: s, "Edm.String", constant=True)
        if isinstance(node, ast.GUID):
            g = node.val.lower()
            return _Operand(lambda row: g, "Edm.Guid", constant=True)
        if isinstance(node, ast.DateTime | ast.Date):
            parsed = parse_datetime(node.val)
            if parsed is None:
                raise errors.bad_query(f"Unrecognized date-time literal '{node.val}'.")
            edm = "Edm.Date" if isinstance(node, ast.Date) else "Edm.DateTimeOffset"
            return _Operand(lambda row: parsed, edm, constant=True)
        if isinstance(node, ast.Call):
            raise self.unsupported_call(node)
        if isinstance(node, ast.BinOp):
            raise errors.bad_query("Arithmetic operators are not supported in $filter.")
        if isinstance(node, ast.CollectionLambda):
            raise errors.bad_query("Lambda operators (any, all) are not supported by the sim.")
        raise errors.bad_query(f"The expression '{type(node).__name__}' is not supported.")

    def navigation_operand(self, node: ast.Attribute) -> _Operand:
        owner = node.owner
        if not isinstance(owner, ast.Identifier) or owner.namespace:
            raise errors.bad_query("Only one level of navigation is supported in $filter.")
        nav = self.table.navigations.get(owner.name)
        if nav is None:
            if owner.name in self.table.collections:
                raise errors.bad_query(
                    f"The navigation property '{owner.name}' is a collection; use any/all."
                )
            raise errors.property_not_found(owner.name, self.table.type_name)
        lookup_col, target_set = nav
        target = table_for(target_set)
        if target is None:
            raise errors.bad_query(f"The navigation property '{owner.name}' cannot be filtered.")
        col = self.column(target, node.attr)
        inner = self.value_getter(col)
        key = lookup_col.json_name
        lookup_row = self.lookup_row

        def get(row: Row) -> Any:
            ref = row.get(key)
            if ref is None:
                return None
            related = lookup_row(target_set, ref)
            return inner(related) if related is not None else None

        return _Operand(get, col.kind.edm)

    def unsupported_call(self, node: ast.Call) -> errors.DataverseFault:
        name = _full_name(node.func)
        return errors.bad_query(f"The function '{name}' is not supported.")

    # -- predicates

    def predicate(self, node: ast._Node) -> Predicate:
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.Or):
                return self.disjunction(node)
            left, right = self.predicate(node.left), self.predicate(node.right)
            return lambda row: left(row) and right(row)
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.Not):
                raise errors.bad_query("Arithmetic operators are not supported in $filter.")
            inner = self.predicate(node.operand)
            return lambda row: not inner(row)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Identifier | ast.Attribute):
            op = self.operand(node)
            if op.edm != "Edm.Boolean":
                raise errors.bad_query(
                    f"The $filter expression must evaluate to a single boolean value; "
                    f"found '{op.edm}'."
                )
            fn = op.fn
            return lambda row: fn(row) is True
        if isinstance(node, ast.Boolean):
            b = node.py_val
            return lambda row: b
        if isinstance(node, ast.CollectionLambda | ast.BinOp):
            self.operand(node)  # raises: not supported
        raise errors.bad_query("The $filter expression must evaluate to a single boolean value.")

    def disjunction(self, node: ast.BoolOp) -> Predicate:
        """`a or b or …` as one predicate.

        Clients read many rows by key as a chain of `<column> eq <literal>` (the bot's
        verifying reads: 100 ids in one filter). Evaluated as nested `or`s, that is one call
        per term for every row; here the terms that compare one plain column with a literal
        become one set lookup per row, the others stay predicates. Every term is still
        compiled, in the order the text has them, so a bad term raises the same fault; and
        the terms have no side effects, so the order they are evaluated in does not matter.
        """
        terms: list[ast._Node] = []
        pending: list[ast._Node] = [node]
        while pending:  # left to right, without recursing down a long chain
            current = pending.pop()
            if isinstance(current, ast.BoolOp) and isinstance(current.op, ast.Or):
                pending.extend((current.right, current.left))
            else:
                terms.append(current)
        wanted: dict[tuple[str, bool], set[Any]] = {}  # (column, ignoring case) -> literals
        others: list[Predicate] = []
        for term in terms:
            predicate = self.predicate(term)  # validates the term, raising its own fault
            equality = self.column_equals_literal(term)
            if equality is None:
                others.append(predicate)
            else:
                key, folded, literal = equality
                wanted.setdefault((key, folded), set()).add(literal)
        lookups = [(key, folded, frozenset(values)) for (key, folded), values in wanted.items()]
        if len(lookups) == 1 and not others:  # the usual read by key: one column, literals only
            ((key, folded, values),) = lookups

            def test_one(row: Row) -> bool:
                value = row.get(key)
                if folded and isinstance(value, str):
                    value = value.casefold()
                try:
                    return value in values
                except TypeError:  # an unhashable value equals none of the literals
                    return False

            return test_one

        def test(row: Row) -> bool:
            for key, folded, values in lookups:
                value = row.get(key)
                if folded and isinstance(value, str):
                    value = value.casefold()
                try:
                    if value in values:
                        return True
                except TypeError:  # an unhashable value equals none of the literals
                    pass
            return bool(others) and any(p(row) for p in others)

        return test

    def column_equals_literal(self, node: ast._Node) -> tuple[str, bool, Any] | None:
        """(row key, compared ignoring case, literal as compared) when `node` is
        `<plain column> eq <literal>` that `compare` would evaluate as `value == literal`.

        Date-time columns (parsed per row), navigation, null-typed and floating-point
        literals (NaN equals nothing, not even itself) keep the general path."""
        if not isinstance(node, ast.Compare) or not isinstance(node.comparator, ast.Eq):
            return None
        if not isinstance(node.left, ast.Identifier) or node.left.namespace:
            return None
        if not isinstance(node.right, ast.String | ast.GUID | ast.Integer | ast.Boolean):
            return None
        col = self.table.columns.get(node.left.name)
        if col is None or not col.read or col.kind is Kind.DATETIME:
            return None
        left, right = self.operand(node.left), self.operand(node.right)
        if not _compatible(left.edm, right.edm):
            return None
        folded = "Edm.String" in (left.edm, right.edm)
        literal = right.fn({})
        if folded:
            literal = _fold(literal)
        return col.json_name, folded, literal

    def compare(self, node: ast.Compare) -> Predicate:
        kind = _OPERATOR_KIND.get(type(node.comparator))
        if kind is None:
            raise errors.bad_query("The 'in' operator is not supported; use 'or'.")
        left, right = self.operand(node.left), self.operand(node.right)
        if not _compatible(left.edm, right.edm):
            raise _incompatible(left.edm, right.edm, kind)
        if "null" in (left.edm, right.edm) and kind not in ("Equal", "NotEqual"):
            # OData allows it; the result is never true.
            return lambda row: False
        lf, rf = left.fn, right.fn
        lv: Callable[[Row], Any] = lf
        rv: Callable[[Row], Any] = rf
        if left.edm == "Edm.String" or right.edm == "Edm.String":
            lv = lambda row: _fold(lf(row))  # noqa: E731
            rv = lambda row: _fold(rf(row))  # noqa: E731
        if right.constant and not left.constant:
            const = rv({})
            if kind == "Equal":
                return lambda row: lv(row) == const
            if kind == "NotEqual":
                return lambda row: lv(row) != const
        if kind == "Equal":
            return lambda row: lv(row) == rv(row)
        if kind == "NotEqual":
            return lambda row: lv(row) != rv(row)
        return _ordering(kind, lv, rv)

    def call(self, node: ast.Call) -> Predicate:
        name = _full_name(node.func)
        if name not in _STRING_FUNCTIONS:
            raise self.unsupported_call(node)
        if len(node.args) != 2:
            raise errors.bad_query(f"The function '{name}' takes two arguments.")
        subject, needle = self.operand(node.args[0]), self.operand(node.args[1])
        for op in (subject, needle):
            if op.edm not in ("Edm.String", "null"):
                raise errors.bad_query(
                    f"No function signature for the function with name '{name}' matches the "
                    f"specified arguments. The function signatures considered are: "
                    f"{name}(Edm.String Nullable=true, Edm.String Nullable=true)."
                )
        sf, nf = subject.fn, needle.fn

        def test(row: Row) -> bool:
            hay, pin = sf(row), nf(row)
            if not isinstance(hay, str) or not isinstance(pin, str):
                return False
            h, p = hay.casefold(), pin.casefold()
            if name == "contains":
                return p in h
            if name == "startswith":
                return h.startswith(p)
            return h.endswith(p)

        return test


def _ordering(kind: str, lv: Callable[[Row], Any], rv: Callable[[Row], Any]) -> Predicate:
    def test(row: Row) -> bool:
        a, b = lv(row), rv(row)
        if a is None or b is None:
            return False
        try:
            if kind == "LessThan":
                return bool(a < b)
            if kind == "LessThanOrEqual":
                return bool(a <= b)
            if kind == "GreaterThan":
                return bool(a > b)
            return bool(a >= b)
        except TypeError:
            return False

    return test


_KEY_TERM: Final = re.compile(
    r"(\(?)([A-Za-z_][A-Za-z0-9_]{0,63}) eq "
    r"([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})(\)?)"
)
# Words the OData lexer reads as something other than a property name.
_NOT_A_PROPERTY: Final = frozenset(
    {"true", "false", "null", "not", "and", "or", "eq", "ne", "lt", "le", "gt", "ge", "in"}
    | {"has", "add", "sub", "mul", "div", "mod", "inf", "nan", "any", "all"}
)


def key_chain_tree(text: str) -> Any | None:
    """The syntax tree of `<property> eq <guid> or <property> eq <guid> …` (each term
    optionally in parentheses, single spaces, lower-case operators), built directly: the
    tree the OData parser builds for it, without its cost (about 0.1 ms per term, which a
    100-id read by key pays on every call); None for any other text, which the parser
    reads. Clients read rows by key with such chains (the bot's verifying reads)."""
    terms: list[ast._Node] = []
    for part in text.split(" or "):
        match = _KEY_TERM.fullmatch(part)
        if match is None:
            return None
        opened, name, guid, closed = match.groups()
        if bool(opened) != bool(closed) or name.lower() in _NOT_A_PROPERTY:
            return None
        terms.append(ast.Compare(ast.Eq(), ast.Identifier(name), ast.GUID(guid)))
    tree = terms[0]
    for term in terms[1:]:
        tree = ast.BoolOp(ast.Or(), tree, term)
    return tree


@lru_cache(maxsize=1024)
def _filter_tree(text: str) -> Any:
    """The syntax tree of a `$filter` text (frozen nodes). Parsing is most of what a query
    costs the sim, and clients send the same filters again and again; a text that fails to
    parse raises every time (lru_cache keeps only results)."""
    return key_chain_tree(text) or ODataParser().parse(ODataLexer().tokenize(text))


def parse_filter(table: Table, text: str | None, lookup_row: RowLookup) -> Predicate | None:
    """Compile `$filter` for `table`; raises DataverseFault (400) on any problem."""
    if text is None:
        return None
    if not text.strip():
        raise errors.syntax_error()
    try:
        tree = _filter_tree(text)
    except odata_exceptions.UnknownFunctionException as exc:
        raise errors.bad_query(
            f"An unknown function with name '{exc.function_name}' was found. This may also be "
            "a function import or a key lookup on a navigation property, which is not allowed."
        ) from None
    except odata_exceptions.ODataException as exc:
        raise errors.bad_query(f"Syntax error in $filter: {exc}") from None
    except RecursionError:
        raise errors.bad_query("The $filter expression is nested too deeply.") from None
    except Exception as exc:  # the parser library's own failures must not become a 500
        raise errors.bad_query(f"Syntax error in $filter: {exc}") from None
    if tree is None:
        raise errors.syntax_error()
    try:
        return _FilterCompiler(table, lookup_row).predicate(tree)
    except RecursionError:
        raise errors.bad_query("The $filter expression is nested too deeply.") from None


# ---- $expand ---------------------------------------------------------------------------


@dataclass
class Expand:
    """One `$expand` item with its nested options."""

    nav: str
    single: tuple[Column, str] | None  # single-valued: (lookup column, target entity set)
    collection: OneToMany | ManyToMany | None
    target: Table
    select: list[str] | None = None
    filter: Predicate | None = None
    orderby: list[OrderBy] = field(default_factory=list)
    top: int | None = None
    expand: list[Expand] = field(default_factory=list)


def _split_top_level(text: str, sep: str) -> list[str]:
    """Split at `sep` outside parentheses and quotes."""
    parts: list[str] = []
    depth = 0
    quoted = False
    start = 0
    for i, ch in enumerate(text):
        if ch == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise errors.syntax_error()
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth != 0 or quoted:
        raise errors.syntax_error()
    parts.append(text[start:])
    return parts


def parse_expand(
    table: Table, text: str | None, lookup_row: RowLookup, *, depth: int = 0
) -> list[Expand]:
    if text is None:
        return []
    if depth > 3:
        raise errors.bad_query("$expand is nested too deeply.")
    result: list[Expand] = []
    for raw in _split_top_level(text, ","):
        item = raw.strip()
        if not item:
            raise errors.syntax_error()
        options_text: str | None = None
        if "(" in item:
            if not item.endswith(")"):
                raise errors.syntax_error()
            name, _, rest = item.partition("(")
            options_text = rest[:-1]
        else:
            name = item
        name = name.strip()
        single = table.navigations.get(name)
        coll = table.collections.get(name)
        if single is None and coll is None:
            if name in table.columns or name in table.by_logical:
                raise errors.bad_query(
                    f"Property '{name}' on type '{table.type_name}' is not a navigation "
                    "property or complex property. Only navigation properties can be expanded."
                )
            raise errors.property_not_found(name, table.type_name)
        target_set = single[1] if single else _collection_target(coll)
        target = table_for(target_set)
        if target is None:
            raise errors.bad_query(f"The navigation property '{name}' cannot be expanded.")
        exp = Expand(nav=name, single=single, collection=coll, target=target)
        if options_text is not None and options_text.strip():
            _apply_expand_options(exp, options_text, lookup_row, depth)
        result.append(exp)
    return result


def _collection_target(coll: OneToMany | ManyToMany | None) -> str:
    if isinstance(coll, OneToMany):
        return coll.child_set
    if isinstance(coll, ManyToMany):
        return coll.target_set
    raise errors.syntax_error()


def _apply_expand_options(exp: Expand, text: str, lookup_row: RowLookup, depth: int) -> None:
    seen: set[str] = set()
    for raw in _split_top_level(text, ";"):
        option, eq, value = raw.strip().partition("=")
        if not eq:
            raise errors.syntax_error()
        option = option.strip()
        if option in seen:
            raise errors.bad_query(f"Query option '{option}' was specified more than once.")
        seen.add(option)
        if option == "$select":
            exp.select = parse_select(exp.target, value)
        elif option == "$expand":
            exp.expand = parse_expand(exp.target, value, lookup_row, depth=depth + 1)
        elif option in ("$filter", "$orderby", "$top") and exp.single is not None:
            raise errors.bad_query(
                f"The query option '{option}' is not allowed on the single-valued navigation "
                f"property '{exp.nav}'."
            )
        elif option == "$filter":
            exp.filter = parse_filter(exp.target, value, lookup_row)
        elif option == "$orderby":
            exp.orderby = parse_orderby(exp.target, value)
        elif option == "$top":
            exp.top = parse_top(value)
        else:
            raise errors.bad_query(f"The query option '{option}' is not supported in $expand.")


# ---- Prefer ------------------------------------------------------------------------------


@dataclass
class Preferences:
    max_page_size: int | None = None
    annotations: list[str] = field(default_factory=list)
    annotations_text: str | None = None
    return_representation: bool = False
    continue_on_error: bool = False
    track_changes: bool = False


def parse_prefer(values: Iterable[str]) -> Preferences:
    prefs = Preferences()
    for header in values:
        for item in _split_top_level_quoted(header):
            key, _, val = item.strip().partition("=")
            key = key.strip().lower()
            val = val.strip()
            if key == "odata.maxpagesize":
                if val.isdigit() and int(val) > 0:
                    prefs.max_page_size = int(val)
            elif key in ("odata.include-annotations", "include-annotations"):
                text = val.strip('"')
                prefs.annotations_text = text
                prefs.annotations = [p.strip() for p in text.split(",") if p.strip()]
            elif key == "return" and val.lower() == "representation":
                prefs.return_representation = True
            elif key in ("odata.continue-on-error", "continue-on-error"):
                prefs.continue_on_error = val.lower() != "false"
            elif key == "odata.track-changes":
                prefs.track_changes = True
    return prefs


def _split_top_level_quoted(header: str) -> list[str]:
    parts: list[str] = []
    quoted = False
    start = 0
    for i, ch in enumerate(header):
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            parts.append(header[start:i])
            start = i + 1
    parts.append(header[start:])
    return [p for p in parts if p.strip()]


def annotation_wanted(patterns: list[str], name: str) -> bool:
    """Whether `Prefer: odata.include-annotations` asks for the annotation `name`."""
    for pattern in patterns:
        p = pattern.lstrip("-")
        if pattern.startswith("-"):
            continue
        if p == "*" or p == name:
            return True
        if p.endswith(".*") and name.startswith(p[:-1]):
            return True
    return False


# ---- the whole query -------------------------------------------------------------------


@dataclass
class Query:
    select: list[str] | None = None
    filter: Predicate | None = None
    orderby: list[OrderBy] = field(default_factory=list)
    top: int | None = None
    count: bool = False
    expand: list[Expand] = field(default_factory=list)
    skiptoken: str | None = None


def single_options(params: Mapping[str, list[str]]) -> dict[str, str]:
    """The `$` options of a query string, each at most once; unknown ones refused."""
    options: dict[str, str] = {}
    for key, values in params.items():
        if not key.startswith("$"):
            continue
        if key in KNOWN_UNSUPPORTED:
            raise errors.bad_query(KNOWN_UNSUPPORTED[key])
        if key not in SUPPORTED_OPTIONS:
            raise errors.bad_query(f"The query parameter '{key}' is not supported.")
        if len(values) > 1:
            raise errors.bad_query(
                f"Query option '{key}' was specified more than once, but it must be "
                "specified at most once."
            )
        options[key] = values[0]
    return options


def parse_query(
    table: Table, options: Mapping[str, str], lookup_row: RowLookup, *, collection: bool
) -> Query:
    if not collection:
        for key in ("$filter", "$orderby", "$top", "$count", "$skiptoken"):
            if key in options:
                raise errors.bad_query(
                    f"The query option '{key}' is not allowed when retrieving a single record."
                )
    return Query(
        select=parse_select(table, options.get("$select")),
        filter=parse_filter(table, options.get("$filter"), lookup_row),
        orderby=parse_orderby(table, options.get("$orderby")),
        top=parse_top(options.get("$top")),
        count=parse_count(options.get("$count")),
        expand=parse_expand(table, options.get("$expand"), lookup_row),
        skiptoken=options.get("$skiptoken"),
    )
