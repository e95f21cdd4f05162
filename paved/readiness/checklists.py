"""The five checklists' items, as paved ships them: each list item of each file, with its line, its section
(the headings above it) and the family of evidence that decides it (paved.readiness.rules).

The copy is `items.yaml` beside this module. `python -m paved.readiness.checklists DIR` re-reads the
checklists in DIR, keeps each item's family where its file and text are unchanged, and writes the copy again;
a test holds the copy to the checklists in ../shared/reference/checklists.
"""

import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

ITEMS = Path(__file__).with_name("items.yaml")
# A family no rule decides yet: the report counts such an item as unclassified.
UNCLASSIFIED = ""


@dataclass(frozen=True)
class Item:
    file: str
    line: int  # 1-based, the line the list item starts on
    section: str  # its headings, outermost first, joined by " › "
    text: str  # the item's first paragraph, markup removed
    family: str = UNCLASSIFIED

    @property
    def checklist(self) -> str:
        """The checklist's number, e.g. `000`, from its file name."""
        return self.file.split("_", 1)[0]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.file, self.section, self.text)


def _plain(inline: Token) -> str:
    """An inline token's text without emphasis, code marks or task boxes."""
    words = "".join(child.content for child in inline.children or () if child.type in ("text", "code_inline"))
    for box in ("[x] ", "[X] ", "[ ] "):
        words = words.removeprefix(box)
    return " ".join(words.split())


def extract(path: Path) -> list[Item]:
    """Every list item in a checklist file, nested ones included, in order."""
    tokens = MarkdownIt("commonmark").parse(path.read_text(encoding="utf-8"))
    headings: list[tuple[int, str]] = []
    found: list[Item] = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            level = int(token.tag[1:])
            headings = [heading for heading in headings if heading[0] < level]
            headings.append((level, _plain(tokens[index + 1])))
        elif token.type == "list_item_open" and token.map is not None:
            inline = tokens[index + 2] if tokens[index + 1].type == "paragraph_open" else None
            text = _plain(inline) if inline is not None else ""
            if text:
                section = " › ".join(title for _, title in headings)
                found.append(Item(path.name, token.map[0] + 1, section, text))
    return found


def load() -> list[Item]:
    return [Item(**entry) for entry in yaml.safe_load(ITEMS.read_text(encoding="utf-8"))]


def refresh(directory: Path) -> list[Item]:
    """The checklists' items as they are now, each keeping the family the copy gave it."""
    families = {item.key: item.family for item in load()} if ITEMS.exists() else {}
    current = [item for path in sorted(directory.glob("*.txt")) for item in extract(path)]
    return [
        Item(item.file, item.line, item.section, item.text, families.get(item.key, UNCLASSIFIED))
        for item in current
    ]


def write(items: list[Item]) -> None:
    ITEMS.write_text(
        yaml.safe_dump([asdict(item) for item in items], sort_keys=False, allow_unicode=True, width=120),
        encoding="utf-8",
    )


if __name__ == "__main__":
    write(refresh(Path(sys.argv[1])))
