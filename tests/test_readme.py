"""The README stays short enough for a newcomer, and every link it and docs/ make resolves."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MAX_README_LINES = 200
# [text](target) and ![alt](target), outside code; http(s) and mailto links are not checked.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
SETUP = (
    "python3 -m venv .venv && .venv/bin/pip install torch==2.13.0 && "
    ".venv/bin/pip install -e . && .venv/bin/tetris-tui",
    "python3 -m venv .venv && .venv/bin/pip install -q torch==2.13.0 && "
    '.venv/bin/pip install -q -e ".[test]" && .venv/bin/python -m pytest -q',
)


def prose(text: str) -> str:
    """The text without fenced code blocks (a link in code is an example, not a link)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    out = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*$", prose(markdown), flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower().replace("`", "")).replace(" ", "-")
        out.add(slug)
    return out


def local_links(path: Path) -> list[tuple[str, Path, str]]:
    """(link as written, the file it names, its #anchor or '') for every local link."""
    links = []
    for target in LINK.findall(prose(path.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z]+:", target):
            continue
        name, _, anchor = target.partition("#")
        links.append((target, (path.parent / name).resolve() if name else path, anchor))
    return links


def test_the_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines"


def test_the_readme_keeps_the_two_set_up_commands():
    text = README.read_text(encoding="utf-8")
    for command in SETUP:
        assert command in text.splitlines(), command


def test_every_link_into_docs_resolves():
    pages = [README, *sorted((ROOT / "docs").glob("*.md"))]
    checked, broken = 0, []
    for page in pages:
        for target, path, anchor in local_links(page):
            checked += 1
            if not path.exists():
                broken.append(f"{page.name}: {target} (no such file)")
            elif anchor and anchor not in anchors(path.read_text(encoding="utf-8")):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken, broken
    readme_docs = [t for t, path, _ in local_links(README) if "docs" in path.parts]
    assert len(readme_docs) >= 5 and checked > len(readme_docs)


def test_the_link_checker_sees_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Top\n[ok](#top) [gone](docs/nowhere.md) [bad](#nope)\n```\n[x](y.md)\n```\n")
    links = local_links(page)
    assert [t for t, _, _ in links] == ["#top", "docs/nowhere.md", "#nope"]
    assert anchors(page.read_text()) == {"top"}
    assert not links[1][1].exists()
