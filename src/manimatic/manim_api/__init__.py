"""The one model of the installed manim: introspected once, served to every part that asks.

- `build`: one child process imports manim and writes both views' caches (per manim version).
- `namespace` (`manim_namespace()`): what `from manim import *` gives, each class's attributes
  and accepted keywords; the static preflight (`render.preflight`) reads it.
- `docs_introspect`: the documented API (signatures, docstrings, return types) that
  `docs.ApiIndex` searches for `manimatic docs` and the agent's `<API_INFO>`.
- `suggest`: the one "did you mean" (one scoring, one cutoff) for the preflight, the runtime
  error hints (`render.errors`) and the docs.
- `text`: pure string helpers for docstrings, identifiers and error messages.

Nothing here imports manim in the caller's process except `docs_introspect.introspect_here` and
`namespace_introspect.introspect`, which only the build's child process calls. Importing this
package is cheap (the sandbox worker imports `suggest` for its hints).
"""
