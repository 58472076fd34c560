"""Option files (BasicSR YAML) read safely: no tag can run code, no file can exhaust memory.

Every command that reads an option file (``panda train``, ``panda test``, ``export-weights``,
and BasicSR's own pipelines once ``panda_plugin`` is imported) goes through ``OptionLoader``:

- plain YAML data only: mappings, lists, strings, numbers, booleans and null; any other tag
  (``!!python/object/apply``, ``!!binary``, ``!custom``) is refused before anything is built;
- at most ``MAX_BYTES`` of UTF-8 text, ``MAX_DEPTH`` levels of nesting, ``MAX_ALIASES``
  aliases and ``MAX_NODES`` values once aliases are expanded (a "billion laughs" file is
  refused after reading a few hundred bytes, not after filling the memory);
- a key given twice in one mapping is refused (YAML would keep the last one silently);
- mappings keep their order (``OrderedDict``, as BasicSR's own loader gives), and the result
  has no shared objects: aliases become independent copies.

Problems raise ``PandaInputError`` with the file, the line and what is accepted.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

import yaml

from panda_plugin.core.errors import PandaInputError

#: Largest option file read, in bytes.
MAX_BYTES = 1 << 20
#: Deepest nesting of mappings and lists.
MAX_DEPTH = 32
#: Most aliases (``*name``) in one file.
MAX_ALIASES = 64
#: Most values in the file once every alias is expanded.
MAX_NODES = 100_000
#: The only tags accepted: YAML's plain data types.
PLAIN_TAGS = frozenset(f'tag:yaml.org,2002:{name}' for name in ('map', 'seq', 'str', 'int', 'float', 'bool', 'null'))


class OptionLoader(yaml.SafeLoader):
    """PyYAML's safe loader with the limits and checks of this module.

    Args:
        stream: The file's text, bytes or an open file.
        where: The file's name, for messages. Default: the stream's ``name`` or ``'option file'``.
    """

    def __init__(self, stream, where: str | None = None):
        where = where or getattr(stream, 'name', None) or 'option file'
        self.where = str(where)
        super().__init__(_decoded(stream, self.where))
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent, index):
        """Compose one value, counting nesting and aliases."""
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise self._error(mark, f'more than {MAX_ALIASES} aliases; accepted: at most {MAX_ALIASES}')
        elif self.check_event(yaml.MappingStartEvent, yaml.SequenceStartEvent):
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise self._error(self.peek_event().start_mark,
                                  f'nesting deeper than {MAX_DEPTH} levels; accepted: at most {MAX_DEPTH}')
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1
        return super().compose_node(parent, index)

    def get_single_data(self):
        """The file's one document, checked (see the module docstring), as plain Python values."""
        try:
            node = self.get_single_node()
        except yaml.MarkedYAMLError as error:
            problem = ': '.join(text for text in (error.context, error.problem) if text) or 'not YAML'
            raise self._error(error.problem_mark or error.context_mark, problem) from None
        except yaml.YAMLError as error:  # reader errors: control characters, bad encodings
            raise PandaInputError(f'{self.where}: not a YAML file ({str(error).splitlines()[0]})') from None
        if node is None:
            return None
        _check_nodes(node, self)
        try:
            return _unshared(self.construct_document(node))
        except yaml.MarkedYAMLError as error:  # a merge key (<<) of something else than mappings
            problem = ': '.join(text for text in (error.context, error.problem) if text)
            raise self._error(error.problem_mark or error.context_mark, problem) from None
        except (ValueError, TypeError, KeyError) as error:  # an explicit !!int, !!float or !!bool of other text
            raise PandaInputError(f'{self.where}: {error}; accepted: values that fit their tags') from None

    def construct_mapping(self, node, deep=False):
        """An ``OrderedDict``; a key given twice is refused."""
        self.flatten_mapping(node)
        mapping = OrderedDict()
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise self._error(key_node.start_mark, f'a key is a {type(key).__name__}; accepted: a '
                                                       'string or number')
            if key in mapping:
                raise self._error(key_node.start_mark, f'key {key!r} is given twice in one mapping')
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def _error(self, mark, problem: str) -> PandaInputError:
        where = f'{self.where}, line {mark.line + 1} column {mark.column + 1}' if mark is not None else self.where
        return PandaInputError(f'{where}: {problem}')


def _construct_ordered_mapping(loader: OptionLoader, node):
    return loader.construct_mapping(node, deep=True)


OptionLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_ordered_mapping)
#: Dates stay strings (``name: 2024-01-01``): a timestamp is no option value.
OptionLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != 'tag:yaml.org,2002:timestamp']
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def _decoded(stream, where: str) -> str:
    data = stream.read(MAX_BYTES + 1) if hasattr(stream, 'read') else stream
    if len(data) > MAX_BYTES:
        raise PandaInputError(f'{where}: larger than {MAX_BYTES // 1024} KiB; accepted: an option file '
                              f'of at most {MAX_BYTES // 1024} KiB')
    if isinstance(data, bytes):
        try:
            data = data.decode('utf-8-sig')
        except UnicodeDecodeError as error:
            line = data[:error.start].count(b'\n') + 1
            raise PandaInputError(f'{where}, line {line}: byte 0x{data[error.start]:02x} is not UTF-8; '
                                  'accepted: a UTF-8 text file') from None
    return data


def _check_nodes(root, loader: OptionLoader) -> None:
    """Refuse tags other than plain data and files whose expanded size exceeds ``MAX_NODES``."""
    sizes: dict[int, int] = {}
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes and not done:
            continue
        if node.tag not in PLAIN_TAGS and node.tag != 'tag:yaml.org,2002:merge':
            tag = node.tag.replace('tag:yaml.org,2002:', '!!')
            raise loader._error(node.start_mark, f'tag {tag} is refused; accepted: plain data '
                                                 '(mappings, lists, strings, numbers, true/false, null)')
        children = ([n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode)
                    else list(node.value) if isinstance(node, yaml.SequenceNode) else [])
        if not done:
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            continue
        sizes[id(node)] = 1 + sum(sizes.get(id(child), 0) for child in children)
        if sizes[id(node)] > MAX_NODES:
            raise loader._error(node.start_mark, f'more than {MAX_NODES} values once aliases are expanded; '
                                                 f'accepted: at most {MAX_NODES}')


def _unshared(value):
    """A copy of loaded data in which no list or mapping appears twice."""
    if isinstance(value, dict):
        return OrderedDict((key, _unshared(item)) for key, item in value.items())
    if isinstance(value, list):
        return [_unshared(item) for item in value]
    return value


def load_option_file(path: str | os.PathLike) -> OrderedDict:
    """Read a BasicSR option file safely.

    Args:
        path: The YAML file.

    Returns:
        Its top-level mapping, keys in file order.

    Raises:
        PandaInputError: The file is missing, unreadable, too large, not UTF-8 YAML, uses a tag
            other than plain data, or is not a mapping at the top.
    """
    path = Path(path)
    where = f'option file {str(path)!r}'
    try:
        with open(path, 'rb') as handle:
            options = load_options(handle.read(MAX_BYTES + 1), where)
    except (FileNotFoundError, NotADirectoryError):
        raise PandaInputError(f'{where} does not exist') from None
    except IsADirectoryError:
        raise PandaInputError(f'{where} is a folder; accepted: a YAML file') from None
    except OSError as error:
        raise PandaInputError(f'{where}: cannot read it ({error.strerror})') from None
    return options


def load_options(text: str | bytes, where: str = 'option file') -> OrderedDict:
    """Parse option-file text safely (see the module docstring).

    Args:
        text: The YAML text or its bytes.
        where: The file's name, for messages. Default: ``'option file'``.

    Returns:
        The top-level mapping, keys in file order.
    """
    loader = OptionLoader(text, where)
    try:
        options = loader.get_single_data()
    finally:
        loader.dispose()
    if not isinstance(options, dict):
        kind = 'empty' if options is None else f'a {type(options).__name__}'
        raise PandaInputError(f'{where} is {kind} at the top level; accepted: a mapping of options '
                              '(name:, model_type:, datasets:, ...)')
    return options
