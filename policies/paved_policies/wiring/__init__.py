"""Wiring proof: can the stack's parts reach and use each other, can nothing else, and are they created in a
working order? Computed offline from a preview's recorded resources.

Pure Python (no Pulumi SDK), so the same model runs in `paved preview`, in `paved flows` over a saved preview,
and inside the CrossGuard pack under the real CLI.

- `snapshot`: the resources of one preview, with every unknown input that lineage can resolve replaced by a
  type-shaped placeholder of the output it came from (`placeholders`).
- `network`, `identity`, `order`: the three graphs and their questions.
- `flows`: the required and forbidden flows derived from the stack's config, and their verdicts.
"""
