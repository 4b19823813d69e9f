"""The Mermaid state diagram, derived from the machine definition (never drawn by hand)."""

from __future__ import annotations

from states.definition import MACHINE_DEFINITION


def mermaid() -> str:
    """A Mermaid `stateDiagram-v2` of the complaint machine, built by transitions' GraphMachine."""
    from transitions.extensions import GraphMachine

    machine = GraphMachine(model=None, graph_engine="mermaid", show_conditions=True, **MACHINE_DEFINITION)

    class _Diagram:
        pass

    model = _Diagram()
    machine.add_model(model)
    drawn = model.get_graph().draw(None)  # type: ignore[attr-defined]
    # Drop the styling that marks the bound model's current state: the diagram
    # describes every complaint, not one.
    lines = [
        line
        for line in drawn.splitlines()
        if line.strip() and not line.strip().startswith(("classDef ", "Class "))
    ]
    # GraphMachine writes the title as a bare line between '---' fences; Mermaid
    # front matter wants it as YAML.
    body = lines[lines.index("stateDiagram-v2"):]
    return "\n".join(["---", "title: Complaint lifecycle", "---", *(line.rstrip() for line in body)]) + "\n"
