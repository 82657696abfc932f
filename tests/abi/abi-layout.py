#!/usr/bin/env python3
"""The engine ABI's growth rule, checked on two abidw outputs (OLD NEW).

abidiff with tests/abi/abi.suppr lets members appended at the end of the
struct_size structs through, but its suppression also hides some changes
made without any insertion (a member retyped, a function pointer's
parameters changed). This check is the rule itself, strictly: every struct
of OLD is in NEW with the same members, in the same order, at the same
offsets, of the same types (compared structurally, through pointers,
qualifiers and function types; structs by name); a struct may only grow by
members placed at or past its old size, and only the struct_size structs
may grow at all; every wfe_ typedef keeps its type. Prints each breach and
exits 1 when there is one.
"""
import sys
import xml.etree.ElementTree as ET

GROWABLE = {"wfe_host", "wfe_plugin", "wfe_engine", "wfe_run_type"}


class Corpus:
    def __init__(self, path):
        root = ET.parse(path).getroot()
        self.by_id = {}
        self.structs = {}
        self.typedefs = {}
        for element in root.iter():
            type_id = element.get("id")
            if type_id:
                self.by_id[type_id] = element
            if element.tag == "class-decl" and element.get("is-declaration-only") != "yes":
                self.structs[element.get("name")] = element
            if element.tag == "typedef-decl":
                self.typedefs[element.get("name")] = element

    def canon(self, type_id, depth=0):
        """A type as text; named structs and typedefs by name."""
        if depth > 64:
            return "<too deep>"
        e = self.by_id.get(type_id)
        if e is None:
            return "<unknown %s>" % type_id
        tag = e.tag
        if tag == "type-decl":
            return e.get("name")
        if tag == "typedef-decl":
            return "typedef " + e.get("name")
        if tag in ("class-decl", "union-decl"):
            return "%s %s" % ("struct" if tag == "class-decl" else "union", e.get("name"))
        if tag == "enum-decl":
            return "enum " + e.get("name", "")
        if tag == "pointer-type-def":
            return "ptr(%s)" % self.canon(e.get("type-id"), depth + 1)
        if tag == "qualified-type-def":
            quals = [q for q in ("const", "volatile", "restrict") if e.get(q) == "yes"]
            return "%s(%s)" % (" ".join(quals), self.canon(e.get("type-id"), depth + 1))
        if tag == "array-type-def":
            return "array[%s](%s)" % (e.get("size-in-bits"), self.canon(e.get("type-id"), depth + 1))
        if tag == "function-type":
            params = []
            result = "void"
            for child in e:
                if child.tag == "parameter":
                    params.append("..." if child.get("is-variadic") == "yes"
                                  else self.canon(child.get("type-id"), depth + 1))
                elif child.tag == "return":
                    result = self.canon(child.get("type-id"), depth + 1)
            return "fn(%s) -> %s" % (", ".join(params), result)
        return "<%s>" % tag

    def members(self, struct):
        out = []
        for member in struct.findall("data-member"):
            var = member.find("var-decl")
            out.append((var.get("name"), int(member.get("layout-offset-in-bits", "0")),
                        self.canon(var.get("type-id"))))
        return out


def compare(old, new):
    breaches = []
    for name, struct in sorted(old.structs.items()):
        if name not in new.structs:
            breaches.append("struct %s is gone (or no longer defined)" % name)
            continue
        old_size = int(struct.get("size-in-bits", "0"))
        new_size = int(new.structs[name].get("size-in-bits", "0"))
        old_members = old.members(struct)
        new_members = new.members(new.structs[name])
        for i, (m_name, offset, m_type) in enumerate(old_members):
            if i >= len(new_members):
                breaches.append("%s.%s is gone" % (name, m_name))
                continue
            n_name, n_offset, n_type = new_members[i]
            if (n_name, n_offset, n_type) != (m_name, offset, m_type):
                breaches.append("%s member %d was %s at bit %d of type %s; is %s at bit %d of type %s"
                                % (name, i, m_name, offset, m_type, n_name, n_offset, n_type))
        for n_name, n_offset, _ in new_members[len(old_members):]:
            if name not in GROWABLE:
                breaches.append("%s.%s added, but %s has no struct_size and cannot grow" % (name, n_name, name))
            elif n_offset < old_size:
                breaches.append("%s.%s added at bit %d, inside the old size (%d bits)"
                                % (name, n_name, n_offset, old_size))
        if new_size < old_size or (name not in GROWABLE and new_size != old_size):
            breaches.append("%s is %d bits, was %d" % (name, new_size, old_size))
    for name, typedef in sorted(old.typedefs.items()):
        if not name.startswith("wfe_"):
            continue
        if name not in new.typedefs:
            breaches.append("typedef %s is gone" % name)
            continue
        was = old.canon(typedef.get("type-id"))
        now = new.canon(new.typedefs[name].get("type-id"))
        if was != now:
            breaches.append("typedef %s was %s; is %s" % (name, was, now))
    return breaches


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: abi-layout.py OLD.abi NEW.abi")
    breaches = compare(Corpus(sys.argv[1]), Corpus(sys.argv[2]))
    for breach in breaches:
        print(breach)
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
