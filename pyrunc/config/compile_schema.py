"""Compile a draft-04 JSON schema into plain Python functions: ``is_valid(doc) -> bool``.

``pyrunc create`` checks every config.json against schema/config.schema.json. jsonschema does
that well but costs 50-130 ms to import, more than the rest of ``create`` together. This
compiler turns the same schema into a module of small functions (``_compiled.py``, written at
build time by setup.py, like cli/_table.py) that give jsonschema's verdict and import nothing
but ``re``, lazily. validate.py uses them as the fast path and asks jsonschema only when a
document is invalid, for its messages. tests/test_config_schema.py proves the verdicts equal.

Each keyword is translated with jsonschema's own semantics (Draft4Validator, jsonschema 4.x):
``$ref`` hides its siblings, ``pattern`` is ``re.search``, ``integer`` excludes bool and
float, a keyword for one type ignores instances of other types. A keyword this compiler
does not know fails the build (Unsupported) rather than being skipped.

Run as a script to (re)write pyrunc/config/_compiled.py in a source tree:
``python -m pyrunc.config.compile_schema [OUT]``.
"""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

SCHEMA_PATH = os.path.join(os.path.dirname(__file__), "schema", "config.schema.json")
OUT_PATH = os.path.join(os.path.dirname(__file__), "_compiled.py")

# Keywords that assert nothing (draft-04 ignores "$id"; "definitions" is reached via $ref).
ANNOTATIONS = {"$schema", "$id", "title", "description", "default", "definitions"}
# What jsonschema's type checker (draft 4) says each type name is.
TYPE_TESTS = {
    "object": "isinstance({v}, dict)",
    "array": "isinstance({v}, list)",
    "string": "isinstance({v}, str)",
    "boolean": "isinstance({v}, bool)",
    "null": "{v} is None",
    "integer": "isinstance({v}, int) and not isinstance({v}, bool)",
    "number": "isinstance({v}, Number) and not isinstance({v}, bool)",
}
# Keywords that hold subschemas: a node with any of them becomes a function of its own.
APPLICATORS = {"properties", "patternProperties", "additionalProperties", "items",
               "allOf", "anyOf", "oneOf", "not"}
OBJECT_KEYWORDS = {"required", "properties", "patternProperties", "additionalProperties",
                   "minProperties", "maxProperties"}
ARRAY_KEYWORDS = {"items", "minItems", "maxItems"}
STRING_KEYWORDS = {"pattern", "minLength", "maxLength"}
NUMBER_KEYWORDS = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}
ANY_KEYWORDS = {"$ref", "type", "enum", "allOf", "anyOf", "oneOf", "not"}
KNOWN = (ANNOTATIONS | OBJECT_KEYWORDS | ARRAY_KEYWORDS | STRING_KEYWORDS | NUMBER_KEYWORDS
         | ANY_KEYWORDS)


class Unsupported(ValueError):
    """The schema uses something this compiler cannot translate exactly."""


def _and(parts: list[str]) -> str:
    if not parts:
        return "True"
    return " and ".join(f"({p})" if " or " in p else p for p in parts)


class Compiler:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.root = schema
        self.functions: dict[str, list[str]] = {}  # name -> source lines, in order of creation
        self.ref_names: dict[str, str] = {}  # "$ref" -> function name
        self.uses_number = False
        self.constants: dict[str, str] = {}  # name -> literal (the values of an enum)
        self.patterns: list[str] = []  # every regular expression, in order of first use

    def _search(self, pattern: str, text: str) -> str:
        if pattern not in self.patterns:
            self.patterns.append(pattern)
        return f"_search({_pyrepr(pattern)}, {text})"

    # ---- names ------------------------------------------------------------------------

    @staticmethod
    def _words(path: list[str]) -> list[str]:
        """#/definitions/process/properties/rlimits/items -> process, rlimits, item;
        the root's own properties start with "config": config, hooks."""
        words = [("item" if p == "items" else re.sub(r"\W", "_", p)) for p in path
                 if p not in ("properties", "definitions")]
        return ["config", *words] if path[:1] == ["properties"] else words

    def _name_for(self, path: list[str], taken: dict[str, Any] | None = None) -> str:
        """A readable, unique name from a schema path: _process_rlimits_item."""
        taken = self.functions if taken is None else taken
        base = "_" + "_".join(self._words(path))
        name, n = base, 2
        while name in taken:
            name, n = f"{base}{n}", n + 1
        return name

    def _resolve(self, ref: str) -> tuple[Any, list[str]]:
        if not ref.startswith("#"):
            raise Unsupported(f"$ref {ref!r}: only refs within the schema")
        node: Any = self.root
        path = [p.replace("~1", "/").replace("~0", "~") for p in ref[1:].split("/") if p]
        for part in path:
            if isinstance(node, list):
                node = node[int(part)]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                raise Unsupported(f"$ref {ref!r} points to nothing")
        return node, path

    # ---- expressions --------------------------------------------------------------------

    def expr(self, schema: Any, v: str, path: list[str]) -> str:
        """A Python expression, true when the value named ``v`` is valid under ``schema``."""
        if schema is True or schema == {}:
            return "True"
        if schema is False:
            return "False"
        if not isinstance(schema, dict):
            raise Unsupported(f"{'/'.join(path)}: a schema must be an object")
        if "$ref" in schema:  # draft 4: $ref replaces the whole schema, siblings are ignored
            return f"{self._ref_function(schema['$ref'])}({v})"
        unknown = set(schema) - KNOWN
        if unknown:
            raise Unsupported(f"{'/'.join(path) or '#'}: keywords {sorted(unknown)}")
        if APPLICATORS & set(schema):
            return f"{self._function(schema, path)}({v})"
        known, parts = self._type_test(schema, v)
        return _and(parts + self._simple_tests(schema, v, known, path))

    def _ref_function(self, ref: str) -> str:
        if ref not in self.ref_names:
            target, path = self._resolve(ref)
            self.ref_names[ref] = name = self._name_for(path or ["root"])
            self.functions[name] = []  # reserve the name: refs may be recursive
            self.functions[name] = self._body(name, target, path, f"#/{'/'.join(path)}")
        return self.ref_names[ref]

    def _function(self, schema: dict[str, Any], path: list[str]) -> str:
        name = self._name_for(path)
        self.functions[name] = []
        self.functions[name] = self._body(name, schema, path, "#/" + "/".join(path))
        return name

    def _type_test(self, schema: dict[str, Any], v: str) -> tuple[str | None, list[str]]:
        """The type test, and the one type a value passing it has (None: several or any)."""
        types = schema.get("type")
        if types is None:
            return None, []
        names = types if isinstance(types, list) else [types]
        for t in names:
            if t not in TYPE_TESTS:
                raise Unsupported(f"type {t!r}")
            self.uses_number |= t == "number"
        tests = [TYPE_TESTS[t].format(v=v) for t in names]
        known = names[0] if len(names) == 1 else None
        return known, [tests[0] if len(tests) == 1 else " or ".join(f"({t})" for t in tests)]

    def _guarded(self, known: str | None, kind: str, v: str, test: str) -> str:
        """``test`` applies only to values of ``kind``: others pass (jsonschema's rule)."""
        if known == kind or (kind == "number" and known == "integer"):
            return test
        self.uses_number |= kind == "number"
        return f"not ({TYPE_TESTS[kind].format(v=v)}) or {test}"

    def _simple_tests(self, schema: dict[str, Any], v: str, known: str | None,
                      path: list[str]) -> list[str]:
        """enum and the keywords on strings, numbers and array sizes."""
        parts: list[str] = []
        if "enum" in schema:
            values = schema["enum"]
            if not all(isinstance(e, str) for e in values):
                raise Unsupported("enum with values other than strings")
            # jsonschema: equal(each, instance) is str == instance: only a string can match
            name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", self._name_for(path, self.constants))
            name = name.upper()
            self.constants[name] = "frozenset({" + ", ".join(json.dumps(e) for e in values) + "})"
            guard = [] if known == "string" else [f"isinstance({v}, str)"]
            parts.append(_and([*guard, f"{v} in {name}"]))
        if "pattern" in schema:
            parts.append(self._guarded(known, "string", v,
                                       self._search(schema["pattern"], v)))
        for key, op in (("minLength", ">="), ("maxLength", "<=")):
            if key in schema:
                parts.append(self._guarded(known, "string", v, f"len({v}) {op} {schema[key]}"))
        for key, op in (("minItems", ">="), ("maxItems", "<=")):
            if key in schema:
                parts.append(self._guarded(known, "array", v, f"len({v}) {op} {schema[key]}"))
        bounds = self._bounds(schema, v)
        if bounds:
            parts.append(self._guarded(known, "number", v, bounds))
        return parts

    @staticmethod
    def _bounds(schema: dict[str, Any], v: str) -> str:
        low = schema.get("minimum")
        high = schema.get("maximum")
        if low is None and high is None:
            return ""
        low_op = "<" if schema.get("exclusiveMinimum") else "<="
        high_op = "<" if schema.get("exclusiveMaximum") else "<="
        text = v
        if low is not None:
            text = f"{low!r} {low_op} {text}"
        if high is not None:
            text = f"{text} {high_op} {high!r}"
        return text

    # ---- functions ----------------------------------------------------------------------

    def _body(self, name: str, schema: Any, path: list[str], where: str) -> list[str]:
        """The source of ``def name(x)``, checking ``x`` against ``schema``."""
        head = [f"def {name}(x: Any) -> bool:", f'    """{where}"""']
        if not isinstance(schema, dict) or "$ref" in schema or not APPLICATORS & set(schema):
            return [*head, f"    return {self.expr(schema, 'x', path)}"]
        unknown = set(schema) - KNOWN
        if unknown:
            raise Unsupported(f"{where}: keywords {sorted(unknown)}")
        known, type_tests = self._type_test(schema, "x")
        lines = [f"    if not {_paren(t)}:\n        return False" for t in type_tests]
        simple = self._simple_tests(schema, "x", known, path)
        if simple:
            lines.append(f"    if not {_paren(_and(simple))}:\n        return False")
        lines += self._kind_block("object", known, self._object_lines(schema, path))
        lines += self._kind_block("array", known, self._array_lines(schema, path))
        lines += self._combinator_lines(schema, path)
        return [*head, *lines, "    return True"]

    @staticmethod
    def _kind_block(kind: str, known: str | None, lines: list[str]) -> list[str]:
        """Lines for keywords of one type: under ``if isinstance`` unless the type is known."""
        if not lines or known == kind:
            return lines
        indented = ["\n".join("    " + part for part in line.split("\n")) for line in lines]
        return [f"    if {TYPE_TESTS[kind].format(v='x')}:", *indented]

    def _object_lines(self, schema: dict[str, Any], path: list[str]) -> list[str]:
        lines = []
        required = schema.get("required", [])
        if len(required) == 1:
            lines.append(f"    if {json.dumps(required[0])} not in x:\n        return False")
        elif required:
            names = ", ".join(json.dumps(r) for r in required)
            lines.append(f"    if not {{{names}}} <= x.keys():\n        return False")
        for key, key_name in (("minProperties", ">="), ("maxProperties", "<=")):
            if key in schema:
                lines.append(f"    if not len(x) {key_name} {schema[key]}:\n        return False")
        properties = schema.get("properties", {})
        for prop, sub in properties.items():
            test = self.expr(sub, VALUE, [*path, "properties", prop])
            key = json.dumps(prop)
            if test.count(VALUE) == 1:  # one use: name it in place
                test = test.replace(VALUE, f"x[{key}]")
                lines.append(f"    if {key} in x and not {_paren(test)}:\n        return False")
            elif test != "True":  # several: bind it once
                test = test.replace(VALUE, "v")
                lines.append(f"    if {key} in x:\n        v = x[{key}]\n"
                             f"        if not {_paren(test)}:\n            return False")
        patterns = schema.get("patternProperties", {})
        pattern_lines = []
        for i, (pattern, sub) in enumerate(patterns.items()):
            test = self.expr(sub, "value", [*path, "patternProperties", f"p{i}"])
            if test != "True":
                pattern_lines.append(f"        if {self._search(pattern, 'key')} and not "
                                     f"{_paren(test)}:\n            return False")
        extra = schema.get("additionalProperties", True)
        if extra is not True and extra != {}:
            # jsonschema's find_additional_properties: not a property, not matching any pattern
            conds = []
            if properties:
                conds.append(f"key not in {{{', '.join(json.dumps(p) for p in properties)}}}")
            if patterns:
                conds.append(f"not {self._search('|'.join(patterns), 'key')}")
            test = self.expr(extra, "value", [*path, "additionalProperties"])
            fail = "True" if test == "False" else f"not {_paren(test)}"
            cond = _and([*conds, fail]) if fail != "True" else (_and(conds) or "True")
            pattern_lines.append(f"        if {cond}:\n            return False")
        if pattern_lines:
            uses_key = any(re.search(r"\bkey\b", line) for line in pattern_lines)
            lines.append("    for key, value in x.items():" if uses_key
                         else "    for value in x.values():")
            lines += pattern_lines
        return lines

    def _array_lines(self, schema: dict[str, Any], path: list[str]) -> list[str]:
        items = schema.get("items", {})
        if isinstance(items, list):  # a tuple: item i against schema i, extra items free
            lines = []
            for i, sub in enumerate(items):
                test = self.expr(sub, f"x[{i}]", [*path, "items", str(i)])
                if test != "True":
                    lines.append(f"    if len(x) > {i} and not {_paren(test)}:\n"
                                 "        return False")
            return lines
        test = self.expr(items, "item", [*path, "items"])
        if test == "True":
            return []
        return [f"    for item in x:\n        if not {_paren(test)}:\n            return False"]

    def _combinator_lines(self, schema: dict[str, Any], path: list[str]) -> list[str]:
        lines = []
        for key in ("allOf", "anyOf", "oneOf"):
            subs = [self.expr(s, "x", [*path, key, str(i)])
                    for i, s in enumerate(schema.get(key, []))]
            if not subs:
                continue
            if key == "allOf":
                test = f"not ({_and(subs)})"
            elif key == "anyOf":
                test = f"not ({' or '.join(_paren(s) for s in subs)})"
            else:  # oneOf: exactly one
                test = f"[{', '.join(subs)}].count(True) != 1"
            lines.append(f"    if {test}:  # {key}\n        return False")
        if "not" in schema:
            lines.append(f"    if {self.expr(schema['not'], 'x', [*path, 'not'])}:  # not\n"
                         "        return False")
        return lines


# A placeholder for a value in an expression: no JSON or Python literal contains it as such.
VALUE = "\x00value\x00"


def _paren(test: str) -> str:
    simple = r"[\w.]+\([^()]*\)|[\w.]+\(\w+\[[^()\[\]]*\]\)|True|False|[\w.]+ in \w+"
    return test if re.fullmatch(simple, test) else f"({test})"


def _pyrepr(text: str) -> str:
    """A string literal, raw where that keeps a regular expression readable."""
    if "\\" in text and "'" not in text and not text.endswith("\\") and "\n" not in text:
        return f"r'{text}'"
    return repr(text)


HEADER = '''\
"""Generated from {source} by pyrunc/config/compile_schema.py: do not edit.

``is_valid(doc)`` is jsonschema's Draft4Validator(schema).is_valid(doc), as plain functions
(one per definition and per nested object); tests/test_config_schema.py proves they agree.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~4 ms to import; annotations are only for the checker
if TYPE_CHECKING:
    from typing import Any
{imports}
import _sre

# The schema's regular expressions, compiled at build time by this interpreter's own `re`
# and handed to its engine (_sre) directly: importing `re` costs each `create` ~7 ms. Only
# when _sre's code format is the one they were compiled for; otherwise `re` compiles them.
_PATTERNS: dict[str, Any] = {{}}
if (_sre.MAGIC, _sre.CODESIZE) == {sre_version}:
{precompiled}

def _search(pattern: str, text: str) -> bool:
    """jsonschema's ``pattern``: re.search, so unanchored unless the pattern says ^...$."""
    compiled = _PATTERNS.get(pattern)
    if compiled is None:
        import re

        compiled = _PATTERNS[pattern] = re.compile(pattern)
    return compiled.search(text) is not None
'''


def _sre_compile_args(pattern: str) -> tuple[Any, ...] | None:
    """The arguments re.compile(pattern) passes to _sre.compile, or None where this
    interpreter's re is built differently (re._compiler.compile, CPython 3.11-3.13)."""
    try:
        from re import _compiler, _parser  # type: ignore[attr-defined]

        parsed = _parser.parse(pattern, 0)
        code = _compiler._code(parsed, 0)
        groupindex = dict(parsed.state.groupdict)
        indexgroup: list[str | None] = [None] * parsed.state.groups
        for name, index in groupindex.items():
            indexgroup[index] = name
        args = (pattern, parsed.state.flags, [int(c) for c in code], parsed.state.groups - 1,
                groupindex, tuple(indexgroup))
        import _sre

        made = _sre.compile(*args)
    except Exception:
        return None
    if made != re.compile(pattern):  # Pattern equality: same pattern, flags and code
        return None
    return args


def _precompiled(patterns: list[str]) -> str:
    lines = []
    for pattern in patterns:
        args = _sre_compile_args(pattern)
        if args is not None:
            _, flags, code, groups, groupindex, indexgroup = args
            numbers = textwrap.fill(", ".join(map(str, code)), width=100,
                                    initial_indent="            ",
                                    subsequent_indent="            ")
            lines.append(f"    _PATTERNS[{pattern!r}] = _sre.compile(\n"
                         f"        {pattern!r}, {flags}, [\n{numbers}\n"
                         f"        ], {groups}, {groupindex!r}, {indexgroup!r})")
    return "\n".join(lines) or "    pass"


def render(schema: dict[str, Any], source: str = "config.schema.json") -> str:
    """The source of the compiled module for ``schema``."""
    if schema.get("$schema", "http://json-schema.org/draft-04/schema#").rstrip("#") != \
            "http://json-schema.org/draft-04/schema":
        raise Unsupported(f"$schema {schema['$schema']!r}: only draft-04")
    compiler = Compiler(schema)
    compiler.functions["is_valid"] = []
    compiler.functions["is_valid"] = compiler._body("is_valid", schema, [], "#")
    imports = "from numbers import Number\n" if compiler.uses_number else ""
    import _sre

    out = [HEADER.format(source=source, imports=imports,
                         sre_version=repr((_sre.MAGIC, _sre.CODESIZE)),
                         precompiled=_precompiled(compiler.patterns))]
    if compiler.constants:  # the values of each enum, a frozenset for the "in" test
        out.append("\n")
        for name, literal in compiler.constants.items():
            out.append("\n" + textwrap.fill(f"{name} = {literal}", width=100,
                                             subsequent_indent="    ", break_long_words=False,
                                             break_on_hyphens=False))
        out.append("\n")
    # is_valid first, then the functions in the order they were first needed
    for name in ["is_valid", *[n for n in compiler.functions if n != "is_valid"]]:
        out.append("\n\n" + "\n".join(compiler.functions[name]) + "\n")
    return "".join(out)


def render_file(schema_path: str = SCHEMA_PATH) -> str:
    with open(schema_path, "rb") as f:
        schema = json.load(f)
    return render(schema, os.path.basename(schema_path))


def load(schema_path: str = SCHEMA_PATH) -> Callable[[Any], bool]:
    """``is_valid`` compiled in memory: for a source tree that was never built."""
    namespace: dict[str, Any] = {}
    exec(compile(render_file(schema_path), OUT_PATH, "exec"), namespace)
    is_valid: Callable[[Any], bool] = namespace["is_valid"]
    return is_valid


def write(out_path: str = OUT_PATH, schema_path: str = SCHEMA_PATH) -> None:
    text = render_file(schema_path)
    os.makedirs(os.path.dirname(out_path) or ".", exist_ok=True)
    with open(out_path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    write(sys.argv[1] if len(sys.argv) > 1 else OUT_PATH)
