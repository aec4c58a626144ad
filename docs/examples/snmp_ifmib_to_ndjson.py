#!/usr/bin/env python3
"""Worked converter: IF-MIB interface counters of a switch, read with net-snmp's snmpbulkwalk,
turned into callsight's vendor-neutral NDJSON `switch_port` lines.

Usage, live (Debian package `snmp`):
    snmp_ifmib_to_ndjson.py --org ORG --site SITE --switch-mac 00:aa:bb:cc:dd:00 \
        --host 10.0.0.2 --community public --post http://callsight-ingest:8080/telemetry --token T
Run it every minute (cron, a systemd timer). It sends the cumulative counters as they are
(rx_errors, tx_errors, rx_discards, tx_discards, rx_pkts, tx_pkts); callsight turns two
readings of the same port into rates, counter wraps and reboots included.

Usage, offline (a saved walk, for testing):
    snmp_ifmib_to_ndjson.py --org ORG --site SITE --switch-mac MAC --walk-file walk.txt --time MS

The walk is `snmpbulkwalk -v2c -c COMMUNITY -On HOST` of the ifTable and ifXTable columns below,
one `OID = TYPE: value` line each.
"""

import argparse
import json
import re
import subprocess
import sys
import time
import urllib.request

# IF-MIB / IF-MIB::ifXTable columns, by numeric OID prefix.
COLUMNS = {
    ".1.3.6.1.2.1.31.1.1.1.1": "name",         # ifName
    ".1.3.6.1.2.1.2.2.1.8": "oper_status",     # ifOperStatus: 1 up
    ".1.3.6.1.2.1.31.1.1.1.15": "high_speed",  # ifHighSpeed, Mbit/s
    ".1.3.6.1.2.1.2.2.1.14": "rx_errors",      # ifInErrors
    ".1.3.6.1.2.1.2.2.1.20": "tx_errors",      # ifOutErrors
    ".1.3.6.1.2.1.2.2.1.13": "rx_discards",    # ifInDiscards
    ".1.3.6.1.2.1.2.2.1.19": "tx_discards",    # ifOutDiscards
    ".1.3.6.1.2.1.31.1.1.1.7": "rx_pkts",      # ifHCInUcastPkts
    ".1.3.6.1.2.1.31.1.1.1.11": "tx_pkts",     # ifHCOutUcastPkts
    ".1.3.6.1.2.1.10.7.2.1.19": "duplex",      # dot3StatsDuplexStatus: 2 half, 3 full
}
LINE = re.compile(r"^(\.[0-9.]+)\s*=\s*[A-Za-z0-9]+:\s*\"?([^\"]*)\"?\s*$")


def parse_walk(text):
    """{ifIndex: {column: value}} from `-On` walk output."""
    ports = {}
    for line in text.splitlines():
        m = LINE.match(line.strip())
        if not m:
            continue
        oid, value = m.groups()
        for prefix, column in COLUMNS.items():
            if oid.startswith(prefix + "."):
                index = oid[len(prefix) + 1:]
                ports.setdefault(index, {})[column] = value.strip()
    return ports


def lines(ports, org, site, switch_mac, time_ms):
    for index in sorted(ports, key=lambda i: int(i)):
        p = ports[index]
        if "name" not in p:
            continue
        record = {
            "type": "switch_port",
            "org_id": org,
            "site_id": site,
            "time": time_ms,
            "source": "snmp",
            "switch_mac": switch_mac,
            "port_id": p["name"],
            "up": p.get("oper_status") in ("1", "up(1)", "up"),
        }
        if p.get("high_speed", "0").isdigit() and int(p["high_speed"]) > 0:
            record["speed_mbps"] = int(p["high_speed"])
        if p.get("duplex") in ("2", "3"):
            record["full_duplex"] = p["duplex"] == "3"
        for counter in ("rx_errors", "tx_errors", "rx_discards", "tx_discards", "rx_pkts", "tx_pkts"):
            if p.get(counter, "").isdigit():
                record[counter] = int(p[counter])
        yield json.dumps(record, separators=(",", ":"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--org", required=True)
    ap.add_argument("--site", required=True)
    ap.add_argument("--switch-mac", required=True)
    ap.add_argument("--host")
    ap.add_argument("--community", default="public")
    ap.add_argument("--walk-file")
    ap.add_argument("--time", type=int, help="epoch ms of the reading (default: now)")
    ap.add_argument("--post", help="callsight's POST /telemetry URL; without it, lines go to stdout")
    ap.add_argument("--token", help="bearer token of the endpoint")
    args = ap.parse_args()
    if args.walk_file:
        text = open(args.walk_file).read()
    elif args.host:
        text = "".join(
            subprocess.run(
                ["snmpbulkwalk", "-v2c", "-c", args.community, "-On", args.host, prefix],
                check=True, capture_output=True, text=True,
            ).stdout
            for prefix in COLUMNS
        )
    else:
        ap.error("give --host or --walk-file")
    time_ms = args.time if args.time is not None else int(time.time() * 1000)
    body = "\n".join(lines(parse_walk(text), args.org, args.site, args.switch_mac, time_ms)) + "\n"
    if not args.post:
        sys.stdout.write(body)
        return
    request = urllib.request.Request(args.post, data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/x-ndjson"})
    if args.token:
        request.add_header("Authorization", f"Bearer {args.token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        sys.stdout.write(response.read().decode() + "\n")


if __name__ == "__main__":
    main()
