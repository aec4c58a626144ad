#!/usr/bin/env python3
"""Writes callsight's Grafana dashboards (the JSON files next to this script) from the panel lists
below: one place to edit, the JSON to import. `--check` only compares and exits 1 when a file
differs from what this script would write (the test suite runs it)."""

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def target(expr, legend="", ref="A", instant=False):
    t = {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": ref}
    if instant:
        t.update({"instant": True, "range": False, "format": "table"})
    return t


def panel(kind, title, description, targets, unit="short", width=12, height=8, **extra):
    p = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        # A stat shows one number: an instant query over the dashboard's range.
        "targets": [
            (target(*t, instant=True) if kind == "stat" else target(*t)) if isinstance(t, tuple) else t
            for t in targets
        ],
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {},
        "_size": (width, height),
    }
    if kind == "timeseries":
        p["fieldConfig"]["defaults"]["custom"] = {"fillOpacity": 10, "lineWidth": 1}
        p["options"] = {"legend": {"displayMode": "table", "placement": "right", "calcs": ["lastNotNull"]}}
    p.update(extra)
    return p


def row(title):
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "_size": (24, 1)}


def layout(panels):
    """Places panels left to right, wrapping at Grafana's 24 columns, and numbers them."""
    x = y = line = 0
    for i, p in enumerate(panels, start=1):
        w, h = p.pop("_size")
        if x + w > 24:
            x, y = 0, y + line
            line = 0
        p["gridPos"] = {"x": x, "y": y, "w": w, "h": h}
        p["id"] = i
        x += w
        line = max(line, h)
        if w == 24:
            x, y, line = 0, y + h, 0
    return panels


def variable_datasource():
    return {
        "name": "datasource",
        "label": "Prometheus",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
    }


def variable_query(name, label, query):
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "query": {"query": query, "refId": name},
        "definition": query,
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
        "hide": 0,
    }


def dashboard(uid, title, description, tags, panels, variables):
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": tags,
        "editable": True,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "",
        "templating": {"list": variables},
        "annotations": {"list": []},
        "links": [
            {
                "title": "Runbooks",
                "type": "link",
                "url": "https://github.com/callsight/callsight/blob/main/docs/runbooks.md",
                "targetBlank": True,
            }
        ],
        "panels": layout(panels),
    }


R = "$__rate_interval"


def pipeline():
    ts = "timeseries"
    panels = [
        row("Ingest"),
        panel(ts, "Ingest requests by endpoint and status", "Requests answered per second; 4xx are rejected senders, 503 is overload.",
              [(f"sum by (endpoint, status) (rate(callsight_ingest_requests_total[{R}]))", "{{endpoint}} {{status}}")], "reqps", 8),
        panel(ts, "Telemetry records by outcome", "Events and lines accepted, rejected (kept as dead letters) and ignored; mist_poller counts polled objects.",
              [(f"sum by (endpoint, outcome) (rate(callsight_ingest_records_total[{R}]))", "{{endpoint}} {{outcome}}")], "ops", 8),
        panel(ts, "Ingest latency p99", "Time to answer a request, the broker's acknowledgement included.",
              [(f"histogram_quantile(0.99, sum by (le, endpoint) (rate(callsight_ingest_request_seconds_bucket[{R}])))", "{{endpoint}}")], "s", 8),
        panel(ts, "Records in flight and overload", "Records being produced now, and requests refused with 503 because too many were.",
              [("sum(callsight_ingest_in_flight_records)", "in flight"),
               (f"sum by (endpoint) (rate(callsight_ingest_overload_total[{R}]))", "503 {{endpoint}}", "B")], "short", 8),
        panel(ts, "Mist signature failures", "Mist deliveries refused (401) for their signature, by reason.",
              [(f"sum by (reason) (rate(callsight_ingest_signature_failures_total[{R}]))", "{{reason}}")], "reqps", 8),
        panel(ts, "Mist polls", "Mist API requests of the statistics poller.",
              [(f"sum by (outcome) (rate(callsight_mist_polls_total[{R}]))", "{{outcome}}")], "reqps", 8),

        row("Kafka"),
        panel(ts, "Produced records by topic", "Records the brokers acknowledged.",
              [(f"sum by (topic) (rate(callsight_kafka_records_produced_total[{R}]))", "{{topic}}")], "ops", 8),
        panel(ts, "Consumed records by topic", "Records consumed and handed to the pipeline.",
              [(f"sum by (topic) (rate(callsight_kafka_records_consumed_total[{R}]))", "{{topic}}")], "ops", 8),
        panel(ts, "Consumer lag by topic", "Records between the committed position and the end of each topic.",
              [("sum by (topic) (callsight_kafka_consumer_lag_records)", "{{topic}}")], "short", 8),
        panel(ts, "Delivery latency p99", "From send to the broker's acknowledgement.",
              [(f"histogram_quantile(0.99, sum by (le, topic) (rate(callsight_kafka_delivery_seconds_bucket[{R}])))", "{{topic}}")], "s", 8),
        panel(ts, "Produce and client errors", "Records that could not be delivered, and errors librdkafka reported.",
              [(f"sum by (topic, error) (rate(callsight_kafka_produce_errors_total[{R}]))", "produce {{topic}} {{error}}"),
               (f"sum by (client, error) (rate(callsight_kafka_client_errors_total[{R}]))", "client {{client}} {{error}}", "B")], "ops", 8),
        panel(ts, "Rebalances and queued records", "Partition assignments and revocations; records waiting in the clients' queues.",
              [(f"sum by (event) (increase(callsight_kafka_rebalances_total[{R}]))", "{{event}}"),
               ("sum by (client) (callsight_kafka_queued_records)", "queued {{client}}", "B")], "short", 8),

        row("Dead letters"),
        panel(ts, "Dead letters by source and kind", "Records and lines kept in a dead-letter topic instead of being processed.",
              [(f"sum by (topic, kind) (increase(callsight_dead_letters_total[{R}]))", "{{topic}} {{kind}}")], "short", 12),
        panel(ts, "Dead letters that could not be written", "The input is retried, not skipped: its partition waits.",
              [(f"sum by (topic) (increase(callsight_dead_letter_failures_total[{R}]))", "{{topic}}")], "short", 12),

        row("Graph and fetch"),
        panel(ts, "Graph webhook requests", "Notification, lifecycle and validation requests answered, by status.",
              [(f"sum by (endpoint, status) (rate(callsight_graph_webhook_requests_total[{R}]))", "{{endpoint}} {{status}}")], "reqps", 8),
        panel(ts, "Graph webhook latency p99", "Graph counts an endpoint slow above 3 s.",
              [(f"histogram_quantile(0.99, sum by (le, endpoint) (rate(callsight_graph_webhook_seconds_bucket[{R}])))", "{{endpoint}}")], "s", 8),
        panel(ts, "Notifications by outcome", "Accepted, lifecycle, and rejected (bad clientState, unknown subscription or tenant, malformed).",
              [(f"sum by (outcome) (rate(callsight_graph_notifications_total[{R}]))", "{{outcome}}")], "ops", 8),
        panel(ts, "Graph answers and throttling", "Graph's answers to callsight's requests by status; 429 is throttling.",
              [(f"sum by (status) (rate(callsight_graph_responses_total[{R}]))", "{{status}}")], "reqps", 8),
        panel(ts, "Fetched records by outcome", "Notifications the fetcher finished.",
              [(f"sum by (outcome) (rate(callsight_fetch_records_total[{R}]))", "{{outcome}}"),
               (f"sum by (reason) (rate(callsight_fetch_retries_total[{R}]))", "retry {{reason}}", "B")], "ops", 8),
        panel(ts, "Notification to legs latency", "From a notification's arrival to the acknowledgement of its call legs (Graph produces records minutes after a call).",
              [(f"histogram_quantile(0.5, sum by (le) (rate(callsight_fetch_latency_seconds_bucket[{R}])))", "p50"),
               (f"histogram_quantile(0.99, sum by (le) (rate(callsight_fetch_latency_seconds_bucket[{R}])))", "p99", "B")], "s", 8),
        panel(ts, "Legs produced and fetches in flight", "Call legs by the origin of their notification; notifications being fetched or waited on.",
              [(f"sum by (origin) (rate(callsight_fetch_legs_total[{R}]))", "{{origin}}"),
               ("sum(callsight_fetch_in_flight)", "in flight", "B")], "short", 12),
        panel(ts, "Backfills", "Notifications written by backfills after a possible loss.",
              [(f"sum(increase(callsight_backfill_notifications_total[{R}]))", "backfilled")], "short", 12),

        row("Subscriptions and links"),
        panel("table", "Subscription expiry", "Hours until each organization's Graph subscription expires; renewals happen a day ahead. Every ingest and fetch pod exports it: the earliest is shown.",
              [target("(min by (org) (callsight_subscription_expiry_timestamp_seconds) - time()) / 3600", "{{org}}", "A", True)], "h", 8,
              transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True}}}]),
        panel(ts, "Subscription operations", "Create, renew, reauthorize, delete, backfill, by outcome.",
              [(f"sum by (operation, outcome) (increase(callsight_subscription_operations_total[{R}]))", "{{operation}} {{outcome}}")], "short", 8),
        panel("stat", "Managers", "Processes managing links and subscriptions: exactly 1.",
              [("sum(callsight_subscription_manager_leader)", "managers")], "short", 4),
        panel("stat", "Links", "Tenant links by state (every ingest and fetch pod knows them all).",
              [("max by (state) (callsight_teams_links)", "{{state}}")], "short", 4),
        panel(ts, "Control messages", "Instructions the manager applied.",
              [(f"sum by (kind, outcome) (increase(callsight_control_messages_total[{R}]))", "{{kind}} {{outcome}}")], "short", 12),
        panel(ts, "Teams endpoints", "Requests to the linking endpoints, by status.",
              [(f"sum by (endpoint, status) (increase(callsight_teams_link_requests_total[{R}]))", "{{endpoint}} {{status}}")], "short", 12),

        row("Processor"),
        panel(ts, "Records by outcome", "Applied, late (applied), expired (dropped), stale leg versions, undecodable.",
              [(f"sum by (topic, outcome) (rate(callsight_processor_records_total[{R}]))", "{{topic}} {{outcome}}")], "ops", 8),
        panel(ts, "Verdicts", "Verdicts published, complete or partial (after processor.max_wait); scope alerts.",
              [(f"sum by (completeness) (rate(callsight_processor_verdicts_total[{R}]))", "{{completeness}}"),
               (f"sum(rate(callsight_processor_alerts_total[{R}]))", "scope alerts", "B")], "ops", 8),
        panel(ts, "Verdict latency", "From taking a batch to the acknowledgement of the verdicts it caused.",
              [(f"histogram_quantile(0.5, sum by (le) (rate(callsight_processor_verdict_latency_seconds_bucket[{R}])))", "p50"),
               (f"histogram_quantile(0.99, sum by (le) (rate(callsight_processor_verdict_latency_seconds_bucket[{R}])))", "p99", "B"),
               (f"histogram_quantile(0.99, sum by (le) (rate(callsight_processor_batch_seconds_bucket[{R}])))", "batch p99", "C")], "s", 8),
        panel(ts, "Watermark delay by partition", "How far each partition's event-time watermark is behind now.",
              [("time() - max by (partition) (callsight_processor_watermark_timestamp_seconds)", "{{partition}}")], "s", 8),
        panel(ts, "Partitions and restore", "Owned partitions restoring or live; records replayed per second while restoring; outputs a restore found already published.",
              [("sum by (state) (callsight_processor_partitions)", "{{state}}"),
               (f"sum(rate(callsight_processor_restore_records_total[{R}]))", "replayed/s", "B"),
               (f"sum(increase(callsight_processor_replayed_outputs_total[{R}]))", "outputs not published again", "C")], "short", 8),
        panel(ts, "Restore duration", "From a partition's assignment to the end of its restore.",
              [(f"histogram_quantile(0.99, sum by (le) (rate(callsight_processor_restore_seconds_bucket[{R}])))", "p99")], "s", 8),
        panel(ts, "State size", "RocksDB memory (memtables and block cache) and disk (windows).",
              [("sum by (kind) (callsight_processor_state_bytes)", "{{kind}}")], "bytes", 12),
        panel(ts, "Transactions", "With processor.transactional_id: committed, aborted, failed.",
              [(f"sum by (outcome) (increase(callsight_processor_transactions_total[{R}]))", "{{outcome}}")], "short", 12),
    ]
    return dashboard(
        "callsight-pipeline", "callsight — pipeline health",
        "Rates, lag, latencies, dead letters, restore, subscriptions and Graph throttling of every callsight role.",
        ["callsight"], panels, [variable_datasource()],
    )


def call_quality():
    sel = 'org=~"$org", site=~"$site"'
    poor_share = (
        f'sum by (org, site) (increase(callsight_processor_legs_total{{{sel}, quality="poor"}}[1h]))'
        f' / sum by (org, site) (increase(callsight_processor_legs_total{{{sel}, quality!="unclassified"}}[1h]))'
    )
    panels = [
        panel("stat", "Poor legs", "Share of judged call legs (good or poor) that were poor, over the dashboard's range.",
              [(f'sum(increase(callsight_processor_legs_total{{{sel}, quality="poor"}}[$__range])) / sum(increase(callsight_processor_legs_total{{{sel}, quality!="unclassified"}}[$__range]))', "poor")],
              "percentunit", 6, 5),
        panel("stat", "Legs judged", "Call legs given a complete verdict, good or poor.",
              [(f'sum(increase(callsight_processor_legs_total{{{sel}, quality!="unclassified"}}[$__range]))', "legs")], "short", 6, 5),
        panel("stat", "Poor legs scoped to infrastructure", "Poor legs whose cause reaches beyond the call: an AP radio, AP, switch port, switch, gateway, WAN link or path, or ISP.",
              [(f"sum(increase(callsight_processor_scoped_poor_legs_total{{{sel}}}[$__range]))", "scoped")], "short", 6, 5),
        panel("stat", "Scope alerts", "Scope alerts raised or cleared (rca.alerts).",
              [("sum(increase(callsight_processor_alerts_total[$__range]))", "alerts")], "short", 6, 5),
        panel("timeseries", "Poor-call rate by site", "Share of judged legs that were poor over the past hour, by site.",
              [(poor_share, "{{site}}")], "percentunit", 24, 8),
        panel("barchart", "Poor legs by cause", "Poor legs by primary cause over the dashboard's range.",
              [target(f"sort_desc(sum by (cause) (increase(callsight_processor_poor_legs_total{{{sel}}}[$__range])))", "{{cause}}", "A", True)],
              "short", 12, 9, options={"orientation": "horizontal", "xField": "cause"}),
        panel("barchart", "Poor legs by scope", "How far the causes of poor legs reach: the client or call alone (client, none) or shared infrastructure.",
              [target(f"sort_desc(sum by (scope) (increase(callsight_processor_poor_legs_total{{{sel}}}[$__range])))", "{{scope}}", "A", True)],
              "short", 12, 9, options={"orientation": "horizontal", "xField": "scope"}),
        panel("timeseries", "Poor legs by cause over time", "Poor legs per hour by primary cause.",
              [(f"sum by (cause) (increase(callsight_processor_poor_legs_total{{{sel}}}[1h]))", "{{cause}}")], "short", 24, 8),
        panel("table", "Top APs", "AP radios and APs with the most poor legs scoped to them.",
              [target(f'topk(10, sum by (site, scope, entity) (increase(callsight_processor_scoped_poor_legs_total{{{sel}, scope=~"ap|ap_radio"}}[$__range])))', "", "A", True)],
              "short", 8, 9, transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True}}}]),
        panel("table", "Top switch ports", "Switch ports and switches with the most poor legs scoped to them.",
              [target(f'topk(10, sum by (site, scope, entity) (increase(callsight_processor_scoped_poor_legs_total{{{sel}, scope=~"switch_port|switch"}}[$__range])))', "", "A", True)],
              "short", 8, 9, transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True}}}]),
        panel("table", "Top WAN links", "WAN links, paths, gateways and ISPs with the most poor legs scoped to them.",
              [target(f'topk(10, sum by (site, scope, entity) (increase(callsight_processor_scoped_poor_legs_total{{{sel}, scope=~"wan_link|wan_path|gateway|isp"}}[$__range])))', "", "A", True)],
              "short", 8, 9, transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True}}}]),
        panel("timeseries", "Verdict completeness", "Complete verdicts, and partial ones (evaluated after processor.max_wait with the telemetry there was).",
              [(f"sum by (completeness) (increase(callsight_processor_verdicts_total[1h]))", "{{completeness}}")], "short", 24, 7),
    ]
    return dashboard(
        "callsight-call-quality", "callsight — call quality",
        "Poor Teams calls by site, cause and scope, and the APs, switch ports and WAN links they were scoped to.",
        ["callsight", "teams"], panels,
        [variable_datasource(),
         variable_query("org", "Organization", "label_values(callsight_processor_legs_total, org)"),
         variable_query("site", "Site", 'label_values(callsight_processor_legs_total{org=~"$org"}, site)')],
    )


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for name, board in [("callsight-pipeline.json", pipeline()), ("callsight-call-quality.json", call_quality())]:
        text = json.dumps(board, indent=2, ensure_ascii=False) + "\n"
        path = HERE / name
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"out of date, run deploy/grafana/generate.py: {', '.join(stale)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
