"""The benchmark database's schema, as numbered forward-only migrations.

Never edit a released migration: add the next number. `Store.migrate` applies each missing one
in its own transaction, with its row in `migrations`, so opening a database is idempotent.
Version 1 is the first schema: `runs` (one row per run, a versioned self-describing record) and
`results` (one row per task and run: UNIQUE(run_id, task_id)).
"""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "runs and results",
        """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            identity TEXT NOT NULL UNIQUE,
            created TEXT NOT NULL,
            updated TEXT NOT NULL,
            status TEXT NOT NULL,
            format_version INTEGER NOT NULL,
            dataset_spec TEXT NOT NULL,
            dataset_split TEXT NOT NULL,
            dataset_filters TEXT NOT NULL,
            dataset_hash TEXT NOT NULL,
            dataset_source TEXT,
            total INTEGER NOT NULL,
            model TEXT NOT NULL,
            strategy TEXT NOT NULL,
            strategy_args TEXT NOT NULL,
            label TEXT,
            options TEXT NOT NULL,
            manimatic_version TEXT,
            manim_version TEXT,
            torch_version TEXT,
            python_version TEXT,
            git_commit TEXT,
            git_dirty INTEGER,
            host TEXT,
            pid INTEGER,
            stats TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TABLE results (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            task_id TEXT NOT NULL,
            task_hash TEXT NOT NULL,
            created TEXT NOT NULL,
            tags TEXT NOT NULL DEFAULT '{}',
            ok INTEGER NOT NULL,
            infra_error INTEGER NOT NULL DEFAULT 0,
            error_stage TEXT,
            error_category TEXT,
            error_message TEXT,
            ref_ok INTEGER,
            vs REAL,
            ssim_term REAL,
            semantic_term REAL,
            fidelity REAL,
            fidelity_components TEXT,
            codebleu REAL,
            codebert REAL,
            cbb REAL,
            ast_distance REAL,
            syntax_error INTEGER,
            rounds INTEGER,
            code TEXT,
            code_hash TEXT,
            transcript TEXT,
            render_result TEXT,
            ref_render_result TEXT,
            timings TEXT NOT NULL DEFAULT '{}',
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            total_tokens INTEGER,
            notes TEXT NOT NULL DEFAULT '[]',
            UNIQUE (run_id, task_id)
        );
        CREATE INDEX results_run ON results (run_id);
        CREATE INDEX results_code ON results (code_hash);
        """,
    ),
    (
        2,
        "each result keeps its task's prompt",
        # Why: the report had to find a task's description in agent transcripts or by re-reading
        # the dataset (impossible for a hub dataset offline, or one that changed since).
        """
        ALTER TABLE results ADD COLUMN prompt TEXT;
        """,
    ),
    (
        3,
        "per-task layout findings",
        # JSON list of the critic's findings on the answer's render (`manimatic.critic`); NULL
        # when it did not render or was not judged (rows from before this migration).
        "ALTER TABLE results ADD COLUMN findings TEXT;",
    ),
]
