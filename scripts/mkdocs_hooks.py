"""MkDocs hook: the site is built from the repository's Markdown, at the paths it has there.

README.md is the home page and links to ``docs/analyze.md`` as GitHub shows it, but MkDocs only
reads files below ``docs_dir``. So this hook places every file of ``docs_dir`` under its
repository path (``docs/...``) and adds the few other repository files that pages link to
(``extra.repository_files`` in mkdocs.yml). A link then means the same on GitHub and on the
site, and ``mkdocs build --strict`` checks every one of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files, InclusionLevel


def on_files(files: Files, config: Any) -> Files:
    """Re-root docs_dir's files at their repository paths; add the listed repository files."""
    root = Path(config.config_file_path).parent
    docs = Path(config.docs_dir)
    prefix = docs.relative_to(root).as_posix()

    def repository_file(rel: str) -> File:  # listed on purpose: dot files too
        return File(
            rel,
            str(root),
            config.site_dir,
            config.use_directory_urls,
            inclusion=InclusionLevel.INCLUDED,
        )

    out = [
        repository_file(f"{prefix}/{f.src_uri}") if Path(f.src_dir or "") == docs else f
        for f in files
    ]
    out += [repository_file(rel) for rel in config.extra.get("repository_files", [])]
    return Files(out)
