"""Decode callsight's single-object records with fastavro, using only the .avsc files.

Usage: independent_decode.py SCHEMAS_DIR RECORDS_DIR

Each file in RECORDS_DIR is named <full type name>__<n>.bin and holds one record in Avro
single-object encoding. For each, this checks the C3 01 marker and that the fingerprint in the
header is the CRC-64-AVRO fingerprint of the schema loaded from SCHEMAS_DIR, decodes the body, and
prints every record as JSON: {file: record}. Timestamps become epoch milliseconds, bytes become
lowercase hex, unions become their branch's value.
"""

import datetime
import io
import json
import os
import sys

from fastavro import schemaless_reader
from fastavro.schema import fingerprint, load_schema, to_parsing_canonical_form


def plain(value):
    if isinstance(value, datetime.datetime):
        return round(value.timestamp() * 1000)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def main(schemas_dir, records_dir):
    out = {}
    schemas = {}
    for file_name in sorted(os.listdir(records_dir)):
        type_name = file_name.split("__")[0]
        if type_name not in schemas:
            schemas[type_name] = load_schema(os.path.join(schemas_dir, type_name + ".avsc"))
        schema = schemas[type_name]
        with open(os.path.join(records_dir, file_name), "rb") as fh:
            data = fh.read()
        if data[:2] != b"\xc3\x01":
            raise SystemExit(f"{file_name}: no single-object marker")
        # fastavro renders CRC-64-AVRO as the little-endian bytes in hex, the header's order.
        expected = fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO")
        found = data[2:10].hex()
        if found != expected:
            raise SystemExit(f"{file_name}: fingerprint {found}, schema says {expected}")
        body = io.BytesIO(data[10:])
        record = schemaless_reader(body, schema, None)
        if body.read():
            raise SystemExit(f"{file_name}: bytes left after the record")
        out[file_name] = plain(record)
    json.dump(out, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
