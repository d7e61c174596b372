"""Find the Python files of a project and the dotted module name of each.

PATH can be a project directory (flat or ``src/`` layout, one or several top-level packages,
namespace packages), a package directory (module names then start with the package's own name,
climbing to the top-level package if PATH is a subpackage) or a single ``.py`` file. Nothing is
imported: module names come from the file system alone.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from migrator.analysis.gitignore import GitIgnore
from migrator.graph import Diagnostic

#: excluded unless an --include pattern names them (matched against any path component)
DEFAULT_EXCLUDES = (
    "tests",
    "test",
    "testing",
    "conftest.py",
    "test_*.py",
    "*_test.py",
    "build",
    "dist",
    "docs",
    "*.egg-info",
    "site-packages",
)
#: default-excluded names that are code when they are a package: ``plugins/google/docs/`` (a
#: Google Docs plug-in) has an ``__init__.py``, a Sphinx ``docs/`` folder has none
_CODE_WHEN_PACKAGE = frozenset({"docs", "build", "dist"})
#: a ``migrations`` folder holding these is a schema history (Django's numbered files,
#: Alembic's environment), excluded by default; one that does not is code (an importer of
#: recipes from other apps called ``services/migrations/``)
_SCHEMA_MIGRATION = re.compile(r"\d{4}_\w*\.py|env\.py|script\.py\.mako|versions")
#: never entered: tool and VCS state, dependencies, caches
HARD_EXCLUDES = (
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    "__pycache__",
    ".tox",
    ".nox",
    ".venv",
    "venv",
    "virtualenv",
    ".eggs",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".migrator-cache",
)
DEFAULT_MAX_FILE_SIZE = 2_000_000  # bytes; bigger files are reported and skipped
_IDENT = re.compile(r"[A-Za-z_]\w*")


class PathError(Exception):
    """PATH cannot be analysed at all (missing, not Python): a one-line error, exit 2."""


@dataclass(frozen=True, order=True)
class SourceFile:
    module: str
    rel: str  # POSIX path relative to the project root
    path: Path
    is_package: bool
    size: int
    mtime_ns: int = 0  # when the file was last written, as discovered (for the guess, never a key)


@dataclass
class Discovery:
    root: Path  # the project root: file paths are relative to it, the cache lives in it
    files: list[SourceFile] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: with ``discover(..., data=True)``: the other files in the same folders (templates, static
    #: files, message catalogues), chosen by the same rules; None otherwise
    data: list[Path] | None = None


def _piece(piece: str) -> str:
    out = []
    i = 0
    while i < len(piece):
        c = piece[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[" and "]" in piece[i + 2 :]:
            j = piece.index("]", i + 2)
            body = piece[i + 1 : j]
            out.append("[" + ("^" + body[1:] if body[:1] == "!" else body) + "]")
            i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Glob with ``**`` -> regex over a relative POSIX path. A pattern without a slash matches
    any path component (``tests`` excludes every ``tests`` directory); a match on a directory
    covers everything under it."""
    pattern = pattern.strip().strip("/")
    if "/" not in pattern:
        return re.compile(r"(?:.*/)?" + _piece(pattern) + r"(?:/.*)?")
    pieces = pattern.split("/")
    out = []
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        if piece == "**":
            out.append(".*" if last else "(?:.*/)?")
        else:
            out.append(_piece(piece) + ("" if last else "/"))
    return re.compile("".join(out) + r"(?:/.*)?")


class Matcher:
    """Include/exclude globs, matched against paths relative to PATH."""

    def __init__(
        self, include: list[str] | None, exclude: list[str] | None, default_excludes: bool = True
    ) -> None:
        self.include = [_glob_regex(p) for p in include or []]
        self.exclude = [_glob_regex(p) for p in exclude or []]
        self.defaults = [_glob_regex(p) for p in DEFAULT_EXCLUDES] if default_excludes else []
        self.hard = set(HARD_EXCLUDES)
        #: default-excluded directories entered because they are packages
        self.code_dirs: set[str] = set()

    def _included(self, rel: str) -> bool:
        return any(r.fullmatch(rel) for r in self.include)

    def prune_dir(self, rel: str, name: str, path: Path | None = None) -> bool:
        if name in self.hard or any(r.fullmatch(rel) for r in self.exclude):
            return True
        if (
            self.defaults
            and name in _CODE_WHEN_PACKAGE
            and path is not None
            and (path / "__init__.py").is_file()
        ):
            self.code_dirs.add(rel)
            return False
        if any(r.fullmatch(self._below_code(rel)) for r in self.defaults) or (
            self.defaults
            and path is not None
            and ((name == "migrations" and _schema_migrations(path)) or _alembic_env(path))
        ):
            # an --include may still reach inside a default-excluded directory
            return not self.include or not self._could_include_under(rel)
        return False

    def _below_code(self, rel: str) -> str:
        """``rel`` from below the deepest package entered despite its name (``docs``), which
        then excludes nothing by its name alone."""
        base = max((d for d in self.code_dirs if rel.startswith(d + "/")), key=len, default="")
        return rel[len(base) + 1 :] if base else rel

    def _could_include_under(self, rel: str) -> bool:
        probe = rel + "/x.py"
        return any(r.fullmatch(probe) or r.pattern.startswith("(?:.*/)?") for r in self.include)

    def skip_file(self, rel: str) -> bool:
        if any(r.fullmatch(rel) for r in self.exclude):
            return True
        if self.include:
            if not self._included(rel):
                return True
            return False
        return any(r.fullmatch(self._below_code(rel)) for r in self.defaults)


def _schema_migrations(directory: Path) -> bool:
    try:
        with os.scandir(directory) as entries:
            return any(_SCHEMA_MIGRATION.fullmatch(e.name) for e in entries)
    except OSError:
        return True  # unreadable: as before, excluded


def _alembic_env(directory: Path) -> bool:
    """An Alembic environment under any name (``alembic/``: ``env.py`` beside ``versions/``)."""
    return (directory / "env.py").is_file() and (directory / "versions").is_dir()


def _git_root(start: Path) -> Path | None:
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def _top_package(directory: Path) -> Path:
    """The outermost package directory containing ``directory`` (itself when it has no parent
    package)."""
    top = directory
    while (top.parent / "__init__.py").is_file() and top.parent != top:
        if not _IDENT.fullmatch(top.parent.name):
            break
        top = top.parent
    return top


def _import_root(directory: Path) -> Path:
    """Where module names start for the files of ``directory``: above its outermost package,
    or the directory itself when it is no package."""
    if (directory / "__init__.py").is_file() and _IDENT.fullmatch(directory.name):
        return _top_package(directory).parent
    return directory


def project_root(path: str | os.PathLike[str]) -> Path | None:
    """The ``Discovery.root`` that ``discover(path)`` would give, without walking the tree
    (None when ``path`` is not a Python file or directory)."""
    target = Path(path)
    try:
        target = target.resolve()
        if target.is_file():
            return _import_root(target.parent) if target.suffix in (".py", ".pyi") else None
        return _import_root(target) if target.is_dir() else None
    except OSError:
        return None


def discover(
    path: str | os.PathLike[str],
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    default_excludes: bool = True,
    gitignore: bool = True,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    follow_symlinks: bool = False,
    data: bool = False,
) -> Discovery:
    """All analysable files under ``path`` with their module names, plus diagnostics.

    Symbolic links that lead out of ``path`` are reported and skipped unless
    ``follow_symlinks``: a repository must not make migrator read files elsewhere on the
    machine (``/etc``, a home directory) and copy facts about them into its output.

    With ``data``, ``Discovery.data`` also lists the other files the walk passes (for
    extraction, which moves a package's templates and static files with its modules): the same
    folders are skipped, .gitignored files too, and links out of ``path``, FIFOs and devices
    are reported instead."""
    target = Path(path)
    if not target.exists() and not target.is_symlink():
        raise PathError(f"{path}: no such file or directory")
    target = target.resolve() if target.exists() else target
    if not target.exists():
        raise PathError(f"{path}: broken symbolic link")
    if target.is_file():
        if target.suffix not in (".py", ".pyi"):
            raise PathError(f"{path}: not a Python file or directory")
        import_root = _import_root(target.parent)
        disc = Discovery(root=import_root)
        walker = _Walker(
            disc,
            import_root,
            target.parent,
            Matcher(None, None, False),
            gitignore=False,
            max_file_size=max_file_size,
        )
        walker.add_file(target)
        return _finish(disc, path)
    if not target.is_dir():
        raise PathError(f"{path}: not a regular file or directory")

    matcher = Matcher(include, exclude, default_excludes)
    import_root = _import_root(target)
    if import_root != target:
        disc = Discovery(root=import_root, data=[] if data else None)
        walker = _Walker(
            disc,
            import_root,
            target,
            matcher,
            gitignore,
            max_file_size,
            follow_symlinks=follow_symlinks,
        )
        walker.walk(target)
        return _finish(disc, path)

    disc = Discovery(root=target, data=[] if data else None)
    src = target / "src"
    roots = [target]
    if src.is_dir() and not (src / "__init__.py").exists():
        roots = [src, target]
    for root in roots:
        walker = _Walker(
            disc,
            root,
            target,
            matcher,
            gitignore,
            max_file_size,
            skip={src} if root == target and len(roots) == 2 else set(),
            follow_symlinks=follow_symlinks,
        )
        walker.walk(root)
    return _finish(disc, path)


def _finish(disc: Discovery, path: object) -> Discovery:
    seen: dict[str, SourceFile] = {}
    for f in sorted(disc.files, key=lambda f: (f.module, f.path.suffix != ".py", f.rel)):
        if f.module in seen:
            other = seen[f.module]
            if f.path.suffix == ".pyi" and other.path.suffix == ".py":
                continue  # a stub beside its module: the module wins
            disc.diagnostics.append(
                Diagnostic(
                    f.rel,
                    1,
                    "duplicate-module",
                    f"module {f.module} is also defined by {other.rel}; this file is ignored",
                )
            )
            continue
        seen[f.module] = f
    disc.files = sorted(seen.values())
    disc.diagnostics.sort()
    if not disc.files and not disc.diagnostics:
        raise PathError(f"{path}: no Python files found")
    return disc


class _Walker:
    def __init__(
        self,
        disc: Discovery,
        import_root: Path,
        match_root: Path,
        matcher: Matcher,
        gitignore: bool,
        max_file_size: int,
        skip: set[Path] | None = None,
        follow_symlinks: bool = False,
    ) -> None:
        self.disc = disc
        self.follow_symlinks = follow_symlinks
        self.tree_root = os.path.realpath(match_root)
        self.import_root = import_root
        self.match_root = match_root
        self.matcher = matcher
        self.max_file_size = max_file_size
        self.skip = skip or set()
        self.ignore: GitIgnore | None = None
        self.ignore_root = match_root
        if gitignore:
            self.ignore = GitIgnore()
            git_root = _git_root(match_root)
            self.ignore_root = git_root or match_root
            chain = [match_root]
            if git_root is not None:
                chain = [
                    git_root,
                    *[p for p in reversed(match_root.parents) if git_root in p.parents],
                    match_root,
                ]
                chain = list(dict.fromkeys(chain))
            for directory in chain[:-1]:
                self._load_ignore(directory)

    def _rel(self, path: Path, base: Path) -> str:
        # string prefixes instead of Path.relative_to: discovery of a big tree calls this a lot
        p, b = str(path), str(base)
        if p.startswith(b) and p[len(b) : len(b) + 1] == os.sep:
            return p[len(b) + 1 :].replace(os.sep, "/")
        if p == b:
            return "."
        return path.name

    def _load_ignore(self, directory: Path) -> None:
        if self.ignore is not None and (directory / ".gitignore").is_file():
            base = self._rel(directory, self.ignore_root)
            self.ignore.add_file(directory / ".gitignore", "" if base == "." else base)

    def _diag(self, path: Path, line: int, code: str, message: str) -> None:
        self.disc.diagnostics.append(
            Diagnostic(self._rel(path, self.disc.root), line, code, message)
        )

    def walk(
        self, directory: Path, ancestors: frozenset[str] = frozenset(), real: str | None = None
    ) -> None:
        if real is None:
            try:
                real = os.path.realpath(directory)
            except OSError:
                real = str(directory)
        if real in ancestors:
            self._diag(
                directory,
                0,
                "symlink-loop",
                "symbolic link points back to a directory being walked; not followed",
            )
            return
        ancestors = ancestors | {real}
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            self._diag(directory, 0, "unreadable", f"cannot list directory: {exc.strerror}")
            return
        names = {e.name for e in entries}
        if "pyvenv.cfg" in names and ancestors != {real}:
            return  # a virtualenv, whatever its name
        if ".gitignore" in names:
            self._load_ignore(directory)
        for entry in entries:
            try:
                is_dir = entry.is_dir()
                is_file = entry.is_file()
            except OSError:
                is_dir = is_file = False
            python = entry.name.endswith((".py", ".pyi"))
            if self.disc.data is None or entry.name.startswith("."):
                if not is_dir and not python:
                    continue  # data, templates, locale files: most entries of a web project
                if is_dir and not _IDENT.fullmatch(entry.name) and not entry.is_symlink():
                    continue  # cannot be a package (``zh-hans``, ``static``'s subfolders)
            path = Path(entry.path)
            if path in self.skip:
                continue
            rel = self._rel(path, self.match_root)
            if self.ignore is not None and self.ignore.ignored(
                self._rel(path, self.ignore_root), is_dir
            ):
                continue
            if (
                not self.follow_symlinks
                and (is_dir or is_file)
                and entry.is_symlink()
                and not self._inside(path)
            ):
                if is_dir or python or self.disc.data is not None:
                    self.disc.diagnostics.append(
                        Diagnostic(
                            self._rel(path, self.disc.root),
                            0 if is_dir else 1,
                            "symlink-outside",
                            "symbolic link leads out of the analysed tree; not followed "
                            "(--follow-symlinks follows it)",
                            "info",
                        )
                    )
                continue
            if is_dir:
                if self.matcher.prune_dir(rel, entry.name, path):
                    continue
                if not _IDENT.fullmatch(entry.name) and self.disc.data is None:
                    continue
                self.walk(
                    path, ancestors, None if entry.is_symlink() else real + os.sep + entry.name
                )
            elif not python:
                if self.disc.data is not None and not self.matcher.skip_file(rel):
                    if is_file:
                        self.disc.data.append(path)
                    else:
                        self._diag(path, 1, "unreadable", "not a regular file")
            elif entry.name.endswith((".py", ".pyi")):
                if self.matcher.skip_file(rel):
                    continue
                if not is_file:
                    if entry.is_symlink() and not path.exists():
                        self._diag(path, 1, "unreadable", "broken symbolic link")
                    elif path.exists():
                        self._diag(path, 1, "unreadable", "not a regular file")
                    else:
                        self._diag(path, 1, "unreadable", "cannot stat file")
                    continue
                self.add_file(path)

    def _inside(self, path: Path) -> bool:
        target = os.path.realpath(path)
        return target == self.tree_root or target.startswith(self.tree_root.rstrip(os.sep) + os.sep)

    def add_file(self, path: Path) -> None:
        stem = path.name.rsplit(".", 1)[0]
        if not _IDENT.fullmatch(stem):
            return
        try:
            st = path.stat()
        except OSError as exc:
            self._diag(path, 1, "unreadable", exc.strerror or str(exc))
            return
        if not stat.S_ISREG(st.st_mode):
            self._diag(path, 1, "unreadable", "not a regular file")
            return
        rel_dir = (
            path.parent.relative_to(self.import_root).parts
            if path.parent != self.import_root
            else ()
        )
        if any(not _IDENT.fullmatch(p) for p in rel_dir):
            return
        is_package = stem == "__init__"
        parts = list(rel_dir) + ([] if is_package else [stem])
        if not parts:
            return  # an __init__.py directly in the import root is not a module
        rel = self._rel(path, self.disc.root)
        if self.max_file_size and st.st_size > self.max_file_size:
            self.disc.diagnostics.append(
                Diagnostic(
                    rel,
                    1,
                    "too-large",
                    f"{st.st_size} bytes is over the size limit of {self.max_file_size} "
                    f"(--max-file-size); file skipped",
                )
            )
            return
        self.disc.files.append(
            SourceFile(".".join(parts), rel, path, is_package, st.st_size, st.st_mtime_ns)
        )
