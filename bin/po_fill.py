#!/usr/bin/env python3
"""Fill empty msgstr entries of a .po file from a JSON map {msgid: msgstr}.

Usage: bin/po_fill.py locale/es/LC_MESSAGES/django.po translations.json
Prints the msgids that are still untranslated afterwards. Handles
single-line msgids only; plural and multi-line entries are listed for
manual editing.
"""

import json
import re
import sys


def main(po_path, json_path):
    translations = json.load(open(json_path, encoding="utf-8"))
    text = open(po_path, encoding="utf-8").read()

    def escape(value):
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    def fill(match):
        msgid = match.group(1).encode().decode("unicode_escape").encode("latin-1").decode("utf-8")
        if msgid in translations:
            return f'msgid "{match.group(1)}"\nmsgstr "{escape(translations[msgid])}"\n'
        return match.group(0)

    text = re.sub(r'^msgid "(.+)"\nmsgstr ""\n', fill, text, flags=re.M)
    open(po_path, "w", encoding="utf-8").write(text)

    for block in text.split("\n\n")[1:]:
        if re.search(r'^msgstr(\[\d\])? ""$', block, re.M) and not re.search(r'^msgstr(\[\d\])? ""\n"', block, re.M):
            print(block.strip().splitlines()[-2:] if len(block) < 2000 else block[:200])


if __name__ == "__main__":
    main(*sys.argv[1:])
