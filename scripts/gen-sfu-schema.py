#!/usr/bin/env python3
"""Write the SFU signaling protocol's JSON Schema to src/weir/protocol/sfu.schema.json.

Run after changing any model in src/weir/protocol/sfu/; tests/sfu/test_signaling_protocol.py fails while the
committed file is stale. The browser client generates its TypeScript types from that file.
"""

from weir.protocol.sfu.schema import SCHEMA_PATH, schema_text

if __name__ == "__main__":
    SCHEMA_PATH.write_text(schema_text())
    print(f"wrote {SCHEMA_PATH}")
