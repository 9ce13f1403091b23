#!/usr/bin/python3
"""Read a compiled artifact's manifest.json, validated against
docs/manifest.schema.json (the one description of what nnbpf compile writes:
compiler/driver/manifest.h, filled by
compiler/driver/pipeline.cc make_manifest). Every Python reader of a
manifest goes through load(), so a manifest that does not match the schema
fails with one line naming the file and the key, never as a KeyError deep in
a script.

    import nnbpf_manifest
    m = nnbpf_manifest.load("out/model")          # the artifact directory
    m = nnbpf_manifest.load("out/model/manifest.json")

As a command: nnbpf_manifest.py FILE_OR_DIR... validates each (exit 0), else
prints one line per bad manifest and exits 2.

Needs python3-jsonschema (Debian); without it load() raises ManifestError
saying so, it never skips the check.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA_PATH = os.path.normpath(os.path.join(HERE, "..", "..", "docs", "manifest.schema.json"))

_validator = None


class ManifestError(Exception):
    """A manifest that cannot be read or does not match the schema: one line."""


def _key(path):
    """['quant', 'int8', 'layers', 0, 'weight_scale'] -> 'quant.int8.layers[0].weight_scale'."""
    out = ""
    for p in path:
        out += "[%d]" % p if isinstance(p, int) else ("." if out else "") + str(p)
    return out or "(top level)"


def validator():
    global _validator
    if _validator is None:
        try:
            import jsonschema
        except ImportError:
            raise ManifestError("python3-jsonschema is not installed (apt-get install python3-jsonschema): "
                                "cannot validate manifests against " + SCHEMA_PATH) from None
        try:
            with open(SCHEMA_PATH) as f:
                schema = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            raise ManifestError("%s: cannot read the manifest schema (%s)" % (SCHEMA_PATH, e)) from None
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        _validator = cls(schema)
    return _validator


def validate(m, where="manifest"):
    """Returns m if it matches the schema, else raises ManifestError
    '<where>: <key>: <what is wrong>' for the most relevant error."""
    import jsonschema
    err = jsonschema.exceptions.best_match(validator().iter_errors(m))
    if err is not None:
        if err.validator == "not" and err.validator_value == {}:  # a key of another kind or mode
            what = "not allowed here (the schema has it only for another kind, quant mode or agreement source)"
        else:
            what = err.message if len(err.message) <= 160 else err.message[:157] + "..."
        raise ManifestError("%s: %s: %s" % (where, _key(err.absolute_path), what))
    return m


def load(path):
    """The validated manifest of an artifact directory or a manifest.json file."""
    if os.path.isdir(path):
        path = os.path.join(path, "manifest.json")
    try:
        with open(path) as f:
            m = json.load(f)
    except OSError as e:
        raise ManifestError("%s: cannot read (%s)" % (path, e.strerror or e)) from None
    except json.JSONDecodeError as e:
        raise ManifestError("%s: not valid JSON (%s)" % (path, e)) from None
    return validate(m, path)


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    bad = 0
    for p in argv:
        try:
            load(p)
        except ManifestError as e:
            print("nnbpf_manifest: " + str(e), file=sys.stderr)
            bad += 1
    return 2 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
