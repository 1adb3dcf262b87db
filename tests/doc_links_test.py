#!/usr/bin/env python3
# The docs' relative links resolve: every [text](path#anchor) in the READMEs
# names a file of the repository and, with an anchor, one of its headings
# (GitHub's anchor rules). Usage: doc_links_test.py SOURCE_ROOT
import os
import re
import sys

DOCS = ['README.md', 'engine/README.md', 'perf/README.md', 'config/prometheus/README.md']


def slug(heading):
    h = heading.strip().lower()
    h = re.sub(r'[^\w\- ]', '', h)
    return h.replace(' ', '-')


def headings(path):
    out, in_code = set(), False
    with open(path, encoding='utf-8') as f:
        for line in f:
            if line.startswith('```'):
                in_code = not in_code
            elif not in_code and line.startswith('#'):
                out.add(slug(line.lstrip('#')))
    return out


def main(root):
    bad = []
    for doc in DOCS:
        path = os.path.join(root, doc)
        with open(path, encoding='utf-8') as f:
            text = re.sub(r'```.*?```', '', f.read(), flags=re.S)
        for link in re.findall(r'\]\(([^)\s]+)\)', text):
            if re.match(r'[a-z]+:', link):
                continue
            target, _, anchor = link.partition('#')
            dest = os.path.normpath(os.path.join(os.path.dirname(path), target)) if target else path
            if not os.path.exists(dest):
                bad.append(f'{doc}: {link}: no such file')
            elif anchor and (not dest.endswith('.md') or anchor not in headings(dest)):
                bad.append(f'{doc}: {link}: no such heading')
    for b in bad:
        print(b)
    print(f'{len(DOCS)} documents, {len(bad)} broken links')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
