"""A from_torch program's modules as groups of its computed graph: boxes that open, as composites do.

The engine's group records (app/engine/expand.py) carry them as they are: a group is a list of
nodes, its operands from outside, the node that stands for it and its parent group, and the
encoder writes `groups` and each node's `group` for any graph whose `expansion` holds them. So a
module is a group of the nodes its lines built (the lines remember their module paths,
chainlens/translate.py), nested as the modules are; its own parameters sit inside its box. A
module that built a single node and owns no parameter (a ReLU) gets no box around that node.
Group records name the module's type as `op` and its path as `label` ("Linear", "fc1").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.engine.errors import SourceMap
from app.engine.expand import Expand, Group
from chainlens.compute import Result
from chainlens.translate import Program


@dataclass
class ModuleGroups(Expand):
    """Groups of modules rather than composites: labelled by the module's path."""

    paths: dict[int, str] = field(default_factory=dict)  # group id → module path

    def records(self, labels: list[str]) -> list[dict]:
        return [{**record, "label": self.paths[record["id"]]} for record in super().records(labels)]


def module_groups(result: Result, program: Program) -> None:
    """Attach the modules' groups to the result's graph (before its body is written)."""
    graph = result.graph
    lines = SourceMap(graph.source)
    line_module = [line.module for line in program.lines]
    kinds: dict[str, str] = {}
    for line in program.lines:
        kinds.update(zip(line.module, line.types))
    members: dict[str, list[int]] = {path: [] for path in kinds}
    owned: dict[str, bool] = dict.fromkeys(kinds, False)
    for node, name in enumerate(graph.names):
        if graph.ops[node] is None and name is not None and not graph.constant[node]:
            path = program.paths.get(name)
            owner = path.rpartition(".")[0] if path else None
            if owner in members:
                owned[owner] = True
                for enclosing in kinds:
                    if owner == enclosing or owner.startswith(enclosing + "."):
                        members[enclosing].append(node)
            continue
        number = lines.locate(graph.starts[node])[0] - 1
        if number < len(line_module):
            for path in line_module[number]:
                members[path].append(node)
    kept = [
        path for path, nodes in members.items() if owned[path] or sum(graph.ops[node] is not None for node in nodes) > 1
    ]
    if not kept:
        return
    expansion = ModuleGroups()
    ids: dict[str, int] = {}
    for path in sorted(kept, key=lambda p: _depth(p, kept)):
        nodes = sorted(set(members[path]))
        inside = set(nodes)
        operands = list(dict.fromkeys(j for node in nodes for j in graph.args[node] if j not in inside))
        output = max((node for node in nodes if graph.ops[node] is not None), default=None)
        if output is None:
            continue
        parent = next((ids[p] for p in sorted(ids, key=len, reverse=True) if _inside(path, p)), None)
        group = Group(len(expansion.groups), kinds[path], nodes, operands, output, parent)
        ids[path] = group.id
        expansion.groups.append(group)
        expansion.paths[group.id] = path
        for node in nodes:  # deeper groups come later and take their nodes over
            expansion.group_of[node] = group.id
    graph.expansion = expansion  # type: ignore[assignment]  # Graph types it by its default, None


def _inside(path: str, enclosing: str) -> bool:
    """Whether module `path` is inside module `enclosing` (the loss's modules are under "loss")."""
    return path.startswith(enclosing + ".")


def _depth(path: str, paths: list[str]) -> int:
    return sum(_inside(path, other) for other in paths)
