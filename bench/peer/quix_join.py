"""The peer of callsight's processor, written with Quix Streams (Kafka plus RocksDB state, the
closest mainstream peer): the same windowed join on the same topics and bytes.

Network samples (`net.telemetry`) fill per-client and per-AP windows in Quix's RocksDB state, one
key per entity and minute; each call leg (`calls.legs`) reads its client's and its AP's windows
over the call (± 1 minute) and emits one joined record to the output topic. Both inputs are
callsight's Avro single-object records, decoded with fastavro from the `.avsc` files.

Usage: quix_join.py --broker HOST:PORT --schemas DIR --expect N --out TOPIC --state DIR

Prints one JSON line when it has taken N telemetry records:
{"taken": N, "seconds": S} (S from the first record taken), then keeps running (for the latency
phase) until killed.
"""

import argparse
import io
import json
import sys
import time

from fastavro import schemaless_reader
from fastavro.read import LOGICAL_READERS
from fastavro.schema import load_schema
from quixstreams import Application
from quixstreams.models.serializers import Deserializer
from quixstreams.models.topics.admin import TopicAdmin, TopicConfig

MINUTE = 60_000

# Event times stay epoch milliseconds, as callsight reads them (no datetime objects).
LOGICAL_READERS["long-timestamp-millis"] = lambda datum, writer_schema, reader_schema: datum


class SingleObject(Deserializer):
    """Avro single-object encoding: C3 01, an 8-byte fingerprint, the datum."""

    def __init__(self, schema):
        super().__init__()
        self.schema = schema

    def __call__(self, value, ctx):
        return schemaless_reader(io.BytesIO(value[10:]), self.schema, None, return_record_name=True)


def inspect_from_metadata(self, topic_names, timeout=30):
    """Topic configurations from the cluster's metadata alone. The embedded broker (librdkafka's
    mock cluster) does not answer DescribeConfigs, which Quix Streams asks at start-up; partition
    counts and replicas are all it needs here."""
    cluster_topics = self.list_topics(timeout=timeout)
    return {
        name: (
            TopicConfig(
                num_partitions=len(cluster_topics[name].partitions),
                replication_factor=len(cluster_topics[name].partitions[0].replicas),
                extra_config={"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"},
            )
            if name in cluster_topics
            else None
        )
        for name in topic_names
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--broker", required=True)
    parser.add_argument("--schemas", required=True)
    parser.add_argument("--expect", type=int, required=True)
    parser.add_argument("--out", default="peer.joined")
    parser.add_argument("--state", required=True)
    parser.add_argument("--group", default="quix-peer")
    parser.add_argument("--embedded-broker", action="store_true", help="read topic configurations from metadata")
    args = parser.parse_args()
    if args.embedded_broker:
        TopicAdmin.inspect_topics = inspect_from_metadata

    sample_schema = load_schema(f"{args.schemas}/callsight.NetworkSample.avsc")
    leg_schema = load_schema(f"{args.schemas}/callsight.CallLeg.avsc")
    app = Application(
        broker_address=args.broker,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        state_dir=args.state,
        use_changelog_topics=False,
        loglevel="WARNING",
        # The same client settings as callsight's side of the benchmark: the embedded broker
        # answers an empty fetch only after the fetch's whole wait, a partition whose local queue
        # is full is fetched again after 10 ms (callsight's consumer setting; librdkafka's
        # default of 1 s stalls a fast consumer), and records are sent at once.
        consumer_extra_config={"fetch.wait.max.ms": 5, "fetch.queue.backoff.ms": 10},
        producer_extra_config={"linger.ms": 1},
    )
    telemetry = app.topic("net.telemetry", key_deserializer="str", value_deserializer=SingleObject(sample_schema))
    legs = app.topic("calls.legs", key_deserializer="str", value_deserializer=SingleObject(leg_schema))
    out = app.topic(args.out, key_serializer="str", value_serializer="json")

    progress = {"taken": 0, "first": None}

    def apply(value, state):
        if "body" in value:
            progress["taken"] += 1
            if progress["first"] is None:
                progress["first"] = time.monotonic()
            kind, body = value["body"]
            minute = value["time"] // MINUTE
            if kind.endswith("WirelessClientSample"):
                state.set(f"c:{body['client_mac']}:{minute}", [body.get("rssi_dbm"), body.get("snr_db"), body["ap_mac"]])
            elif kind.endswith("ApRadioSample"):
                state.set(f"r:{body['ap_mac']}:{minute}", [body.get("util_all_ratio"), body.get("util_non_wifi_ratio")])
            if progress["taken"] == args.expect:
                seconds = time.monotonic() - progress["first"]
                print(json.dumps({"taken": progress["taken"], "seconds": seconds}), flush=True)
            return None
        # A call leg: its client's and AP's windows over the call.
        mac = value["network"].get("mac_address")
        start, end = value["leg_start"] // MINUTE - 1, value["leg_end"] // MINUTE + 1
        client = [state.get(f"c:{mac}:{m}") for m in range(start, end + 1)]
        client = [c for c in client if c]
        ap = client[-1][2] if client else None
        radio = [state.get(f"r:{ap}:{m}") for m in range(start, end + 1)] if ap else []
        radio = [r for r in radio if r]
        rssi = [c[0] for c in client if c[0] is not None]
        util = [r[0] for r in radio if r[0] is not None]
        return {
            "leg_id": value["leg_id"],
            "client_samples": len(client),
            "rssi_min": min(rssi) if rssi else None,
            "ap": ap,
            "radio_samples": len(radio),
            "util_max": max(util) if util else None,
        }

    joined = app.dataframe(telemetry).concat(app.dataframe(legs))
    joined = joined.apply(apply, stateful=True).filter(lambda v: v is not None)
    joined.to_topic(out)
    app.run()


if __name__ == "__main__":
    sys.exit(main())
