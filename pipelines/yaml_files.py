"""The YAML files people write (the configuration, the rules catalog, users.yaml), read strictly: a key given
twice in one mapping is an error naming its line, where PyYAML's safe_load would keep the last silently
(a provider's second `categories:` would replace its first)."""

from __future__ import annotations

import io
from typing import Any

import yaml


class _StrictLoader(yaml.SafeLoader):
    pass


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    first_line: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *defaults` may be overridden on purpose
        key = loader.construct_object(key_node, deep=True)
        try:
            seen = key in first_line
        except TypeError:
            continue  # an unhashable key: SafeLoader refuses it itself
        if seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} is given twice (first on line {first_line[key]}): expected each key once", key_node.start_mark
            )
        first_line[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_yaml(text: str, name: str) -> Any:
    """The document `text` holds, as `yaml.safe_load` reads it, but refusing a key given twice (yaml.YAMLError);
    its errors point at lines of `name` (the file's name)."""
    stream = io.StringIO(text)
    stream.name = name  # what PyYAML's marks name: `in "config.yaml", line 20, column 1`
    return yaml.load(stream, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader: it builds plain data only
